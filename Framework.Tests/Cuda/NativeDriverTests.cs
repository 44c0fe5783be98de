using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>The native driver where no GPU exists: clear messages, no crash.</summary>
public class NativeDriverTests
{
    [Test]
    public void ProbeNeverThrowsAndExplainsWhatIsMissing()
    {
        string? reason = null;
        Assert.That(() => reason = NativeCudaDriver.Probe(0), Throws.Nothing);
        if (reason is null) Assert.Ignore("a usable GPU is present; the missing-driver message cannot be observed here");
        // Either the library is missing (say which files and what to install) or the driver reports why.
        Assert.That(reason, Does.Contain("libcuda.so.1").Or.Contain("nvcuda.dll").Or.Contain("cu").Or.Contain("CUDA"));
        if (reason!.Contains("not found", StringComparison.Ordinal))
            Assert.That(reason, Does.Contain("install the NVIDIA GPU driver").And.Contain("Device.CudaEmulated"));
    }

    [Test]
    public void OpeningWithoutAGpuThrowsCudaExceptionNamingTheCall()
    {
        if (NativeCudaDriver.Probe(0) is null) Assert.Ignore("a usable GPU is present");
        var e = Assert.Throws<CudaException>(() => NativeCudaDriver.Open(0));
        Assert.That(e!.Call, Is.Not.Empty);
        Assert.That(e.Message, Does.StartWith(e.Call));
    }

    [Test]
    public void UsingTheCudaDeviceWithoutAGpuFailsWithTheProbeMessage()
    {
        string? reason = NativeCudaDriver.Probe(0);
        if (reason is null)
        {
            Assert.Ignore("a usable GPU is present");
            return;
        }
        if (reason.StartsWith("cuBLAS", StringComparison.Ordinal))
        {
            // The driver and device work and only cuBLAS is missing: elementwise work runs, a matrix product fails.
            using var a = Tensor.Zeros([2, 2], DType.Float32, Device.Cuda(0));
            var blas = Assert.Catch(() => a.Matmul(a).Dispose());
            Assert.That(blas!.Message, Does.Contain(reason));
            return;
        }
        var e = Assert.Catch(() => Tensor.Zeros([3], DType.Float32, Device.Cuda(0)));
        Assert.That(e!.Message, Does.Contain(reason));
    }

    [Test]
    public void RequiredDriverMatchesTheKernelsIsa()
    {
        var (major, minor, driver) = KernelModules.RequiredDriver();
        Assert.That((major, minor), Is.GreaterThanOrEqualTo((6, 0)));
        // .version 6.0 is CUDA 9.0's PTX ISA; every embedded module must stay JIT-able by that driver or say what it needs.
        Assert.That(driver, Is.GreaterThanOrEqualTo(9000));
        if ((major, minor) == (6, 0)) Assert.That(driver, Is.EqualTo(9000));
        if ((major, minor) == (6, 3)) Assert.That(driver, Is.EqualTo(10000), "PTX ISA 6.3 came with CUDA 10.0");
    }

    [Test]
    public void EveryModuleTargetsSm75TheOldestArchitectureCuda13Supports()
    {
        Assert.That(KernelModules.RequiredTarget(), Is.EqualTo(75));
        foreach (var (file, text) in KernelModules.AssembledTexts())
            Assert.That(text, Does.Contain(".version 6.3\n.target sm_75\n.address_size 64").Or.Contain(".version 6.3\r\n.target sm_75\r\n.address_size 64"), file);
    }
}
