using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The probe shared by the native fixtures: they run only where a driver, a device and cuBLAS exist and
/// are otherwise ignored with the probe's own reason (never passing vacuously).
/// </summary>
internal static class NativeGpu
{
    private static readonly Lazy<string?> s_reason = new(() => NativeCudaDriver.Probe(0));

    /// <summary>Ignores the calling fixture when no usable GPU is present.</summary>
    public static void RequireOrIgnore()
    {
        if (s_reason.Value is { } why) Assert.Ignore($"no usable CUDA GPU: {why}");
    }
}
