using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests;

/// <summary>
/// Registers the CUDA device types once for every fixture under Framework.Tests (a SetUpFixture covers
/// its namespace and those below it): the emulated device, and the native one, which opens lazily.
/// </summary>
[SetUpFixture]
public sealed class CudaDevicesSetup
{
    /// <summary>Registers both CUDA device types.</summary>
    [OneTimeSetUp]
    public void RegisterDevices()
    {
        EmulatedCuda.Register();
        CudaBackend.Register();
    }
}
