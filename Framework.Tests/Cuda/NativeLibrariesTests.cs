using Framework.Cuda.Native;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>Which cuBLAS files the resolver tries, in what order, and what the probe says when none fits.</summary>
public class NativeLibrariesTests
{
    [Test]
    public void LinuxTriesCublas13Then12ThenTheUnversionedName()
    {
        Assert.That(NativeLibraries.BlasFilesFor(windows: false, driverVersion: 0),
            Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.12", "libcublas.so" }));
        Assert.That(NativeLibraries.BlasFilesFor(windows: false, driverVersion: 13000),
            Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.12", "libcublas.so" }));
    }

    [Test]
    public void WindowsTriesCublas64_13Then12()
    {
        Assert.That(NativeLibraries.BlasFilesFor(windows: true, driverVersion: 13010),
            Is.EqualTo(new[] { "cublas64_13.dll", "cublas64_12.dll" }));
    }

    [Test]
    public void ACuda12DriverIsNotOfferedCublas13()
    {
        Assert.That(NativeLibraries.BlasFilesFor(windows: false, driverVersion: 12040), Is.EqualTo(new[] { "libcublas.so.12", "libcublas.so" }));
        Assert.That(NativeLibraries.BlasFilesFor(windows: true, driverVersion: 12080), Is.EqualTo(new[] { "cublas64_12.dll" }));
    }

    [Test]
    public void TheFirstFileThatLoadsWins()
    {
        var tried = new List<string>();
        var handle = NativeLibraries.FirstLoadable(["libcublas.so.13", "libcublas.so.12", "libcublas.so"], f =>
        {
            tried.Add(f);
            return f == "libcublas.so.12" ? 12 : 0;
        });
        Assert.That(handle, Is.EqualTo((nint)12));
        Assert.That(tried, Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.12" }));
    }

    [Test]
    public void TheProbeAcceptsAFileOnlyWhenItExportsTheGemm()
    {
        string[] files = ["libcublas.so.13", "libcublas.so.12"];
        Assert.That(NativeLibraries.BlasLoadFailure(files, 13000, f => f.EndsWith("12", StringComparison.Ordinal) ? 5 : 0, _ => true), Is.Null);
        string? why = NativeLibraries.BlasLoadFailure(files, 13000, _ => 5, _ => false);
        Assert.That(why, Does.Contain("libcublas.so.13, libcublas.so.12 loaded but lacks cublasSgemmStridedBatched"));
    }

    [Test]
    public void TheProbeSaysWhatWasLookedForAndWhatToInstall()
    {
        string? why = NativeLibraries.BlasLoadFailure(["libcublas.so.12", "libcublas.so"], 12040, _ => 0, _ => true);
        Assert.That(why, Does.Contain("cuBLAS was not found (looked for libcublas.so.12, libcublas.so)")
            .And.Contain("the driver supports CUDA 12.4").And.Contain("cuBLAS 12 runtime (cuBLAS 13 needs a CUDA 13 driver)"));
        why = NativeLibraries.BlasLoadFailure(["cublas64_13.dll", "cublas64_12.dll"], 13000, _ => 0, _ => true);
        Assert.That(why, Does.Contain("cublas64_13.dll, cublas64_12.dll").And.Contain("cuBLAS 13 or 12 runtime"));
    }

    [Test]
    public void WithoutAGpuTheProbeNamesTheMissingLibrary()
    {
        // Here (no driver) the probe stops at the driver; where a driver exists it goes on to cuBLAS.
        string? why = Framework.Cuda.NativeCudaDriver.Probe(0);
        if (why is null) Assert.Ignore("a usable GPU with cuBLAS is present: nothing is missing");
        Assert.That(why, Does.Contain("libcuda").Or.Contain("nvcuda.dll").Or.Contain("cuBLAS").Or.Contain("CUDA"));
    }
}
