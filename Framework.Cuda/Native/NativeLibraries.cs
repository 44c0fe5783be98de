using System.Reflection;
using System.Runtime.InteropServices;

namespace Framework.Cuda.Native;

/// <summary>
/// Maps the logical library names of the P/Invoke declarations to the files each OS installs: the
/// driver (<c>libcuda.so.1</c> from the NVIDIA driver on Linux, <c>nvcuda.dll</c> on Windows) and
/// cuBLAS 12 (<c>libcublas.so.12</c> / <c>cublas64_12.dll</c>). Nothing else is needed: no toolkit.
/// </summary>
internal static class NativeLibraries
{
    public const string Driver = "framework-cuda-driver";
    public const string Blas = "framework-cublas";

    private static int s_installed;

    /// <summary>The files tried for the driver, in order.</summary>
    public static string[] DriverFiles =>
        OperatingSystem.IsWindows() ? ["nvcuda.dll"] : OperatingSystem.IsMacOS() ? [] : ["libcuda.so.1", "libcuda.so"];

    /// <summary>The files tried for cuBLAS, in order.</summary>
    public static string[] BlasFiles =>
        OperatingSystem.IsWindows() ? ["cublas64_12.dll"] : OperatingSystem.IsMacOS() ? [] : ["libcublas.so.12", "libcublas.so"];

    /// <summary>Installs the resolver once for this assembly.</summary>
    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        string[] files = name switch { Driver => DriverFiles, Blas => BlasFiles, _ => [] };
        foreach (var f in files)
            if (NativeLibrary.TryLoad(f, assembly, path, out var handle)) return handle;
        return IntPtr.Zero; // the runtime then throws DllNotFoundException, which the callers turn into a clear message
    }

    /// <summary>Whether one of <paramref name="files"/> loads.</summary>
    public static bool TryLoad(string[] files)
    {
        foreach (var f in files)
            if (NativeLibrary.TryLoad(f, typeof(NativeLibraries).Assembly, null, out _)) return true;
        return false;
    }
}
