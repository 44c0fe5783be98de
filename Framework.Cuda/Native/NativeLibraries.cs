using System.Reflection;
using System.Runtime.InteropServices;

namespace Framework.Cuda.Native;

/// <summary>
/// Maps the logical library names of the P/Invoke declarations to the files each OS installs, through a
/// <see cref="NativeLibrary"/> resolver rather than fixed names: the driver (<c>libcuda.so.1</c> from the
/// NVIDIA driver on Linux, <c>nvcuda.dll</c> on Windows) and cuBLAS 13 or 12 (<c>libcublas.so.13</c>,
/// <c>libcublas.so.12</c> / <c>cublas64_13.dll</c>, <c>cublas64_12.dll</c>). Nothing else is needed: no toolkit.
/// </summary>
/// <remarks>
/// cuBLAS 13 needs a CUDA 13 driver, while cuBLAS 12 runs on CUDA 12 and 13 drivers, so once the driver's
/// version is known (<see cref="DriverVersion"/>, set when a device opens) a CUDA 12 driver is not offered
/// cuBLAS 13. Both majors keep the <c>_v2</c> entry points this project binds. The unversioned name comes
/// last: it is whatever a developer's toolkit links, of unknown major.
/// </remarks>
internal static class NativeLibraries
{
    public const string Driver = "framework-cuda-driver";
    public const string Blas = "framework-cublas";

    /// <summary>The cuBLAS entry point the probe looks for to accept a file as cuBLAS.</summary>
    public const string BlasProbeSymbol = "cublasSgemmStridedBatched";

    private static int s_installed;

    /// <summary>The driver's CUDA version (e.g. 13000), 0 until a device has been opened.</summary>
    public static int DriverVersion { get; set; }

    /// <summary>The files tried for the driver, in order.</summary>
    public static string[] DriverFiles =>
        OperatingSystem.IsWindows() ? ["nvcuda.dll"] : OperatingSystem.IsMacOS() ? [] : ["libcuda.so.1", "libcuda.so"];

    /// <summary>The files tried for cuBLAS on this machine, in order.</summary>
    public static string[] BlasFiles =>
        OperatingSystem.IsMacOS() ? [] : BlasFilesFor(OperatingSystem.IsWindows(), DriverVersion);

    /// <summary>
    /// The cuBLAS files to try, newest major first: 13 only when the driver supports CUDA 13 (or its
    /// version is not known yet), then 12, then on Linux the unversioned development name.
    /// </summary>
    /// <param name="windows">Windows names (<c>cublas64_NN.dll</c>) rather than Linux sonames.</param>
    /// <param name="driverVersion">The driver's CUDA version, e.g. 12040; 0 when unknown.</param>
    public static string[] BlasFilesFor(bool windows, int driverVersion)
    {
        var majors = driverVersion is 0 or >= 13000 ? new[] { 13, 12 } : [12];
        var files = majors.Select(m => windows ? $"cublas64_{m}.dll" : $"libcublas.so.{m}").ToList();
        if (!windows) files.Add("libcublas.so");
        return [.. files];
    }

    /// <summary>Installs the resolver once for this assembly.</summary>
    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        string[] files = name switch { Driver => DriverFiles, Blas => BlasFiles, _ => [] };
        if (files.Length == 0) return IntPtr.Zero; // not ours: the runtime's default lookup
        var handle = FirstLoadable(files, f => NativeLibrary.TryLoad(f, assembly, path, out var h) ? h : IntPtr.Zero);
        // IntPtr.Zero: the runtime throws DllNotFoundException, which the callers turn into a clear message.
        return handle;
    }

    /// <summary>The handle of the first of <paramref name="files"/> that <paramref name="load"/> opens, or 0.</summary>
    /// <param name="files">Candidates in order of preference.</param>
    /// <param name="load">Opens one file, zero when it cannot.</param>
    public static IntPtr FirstLoadable(IEnumerable<string> files, Func<string, IntPtr> load)
    {
        foreach (var f in files)
        {
            var handle = load(f);
            if (handle != IntPtr.Zero) return handle;
        }
        return IntPtr.Zero;
    }

    /// <summary>Whether one of <paramref name="files"/> loads.</summary>
    public static bool TryLoad(string[] files) => FirstLoadable(files, Load) != IntPtr.Zero;

    private static IntPtr Load(string file) =>
        NativeLibrary.TryLoad(file, typeof(NativeLibraries).Assembly, null, out var h) ? h : IntPtr.Zero;

    /// <summary>Why cuBLAS cannot be used on this machine (which files were tried, what to install), or null.</summary>
    public static string? BlasLoadFailure() =>
        BlasLoadFailure(BlasFiles, DriverVersion, Load, h => NativeLibrary.TryGetExport(h, BlasProbeSymbol, out _));

    /// <summary>
    /// The cuBLAS check, over injectable loading: null when a file loads and exports
    /// <see cref="BlasProbeSymbol"/>, otherwise the message naming what was tried and what to install.
    /// </summary>
    /// <param name="files">Candidates in order.</param>
    /// <param name="driverVersion">The driver's CUDA version, 0 when unknown (said in the message).</param>
    /// <param name="load">Opens one file, zero when it cannot.</param>
    /// <param name="hasEntryPoint">Whether a loaded library exports the probe symbol.</param>
    public static string? BlasLoadFailure(string[] files, int driverVersion, Func<string, IntPtr> load,
        Func<IntPtr, bool> hasEntryPoint)
    {
        if (files.Length == 0) return $"cuBLAS is not available on {RuntimeInformation.OSDescription}";
        var notCublas = new List<string>();
        foreach (var f in files)
        {
            var h = load(f);
            if (h == IntPtr.Zero) continue;
            if (hasEntryPoint(h)) return null;
            notCublas.Add(f);
        }
        string driver = driverVersion == 0 ? ""
            : $" (the driver supports CUDA {driverVersion / 1000}.{driverVersion % 1000 / 10})";
        string need = driverVersion is > 0 and < 13000
            ? "the cuBLAS 12 runtime (cuBLAS 13 needs a CUDA 13 driver)"
            : "the cuBLAS 13 or 12 runtime";
        return $"cuBLAS was not found (looked for {string.Join(", ", files)}){driver}" +
               (notCublas.Count > 0 ? $"; {string.Join(", ", notCublas)} loaded but lacks {BlasProbeSymbol}" : "") +
               $"; matrix products need {need}, e.g. the libcublas package of NVIDIA's CUDA repository " +
               "or the CUDA redistributable";
    }
}
