using Framework.Backends;

namespace Framework.Cuda.Emulator;

/// <summary>
/// Registers the emulated CUDA device: <c>Device.CudaEmulated(i)</c> runs the real CUDA backend over an
/// <see cref="EmulatedCudaDriver"/>, so PTX kernels execute in the checking interpreter.
/// </summary>
public static class EmulatedCuda
{
    /// <summary>Registers the factory for <see cref="DeviceType.CudaEmulated"/> (idempotent).</summary>
    /// <param name="maxDegreeOfParallelism">Worker threads per launch; defaults to the processor count.</param>
    public static void Register(int? maxDegreeOfParallelism = null) =>
        BackendRegistry.Register(DeviceType.CudaEmulated,
            index => new CudaBackend(new EmulatedCudaDriver(maxDegreeOfParallelism), Device.CudaEmulated(index)));

    /// <summary>The backend of an emulated device (registering the device type if needed).</summary>
    /// <param name="index">The device ordinal.</param>
    public static CudaBackend Backend(int index = 0)
    {
        Register();
        return (CudaBackend)BackendRegistry.Get(Device.CudaEmulated(index));
    }

    /// <summary>The emulated driver of a device, for its counters and checks.</summary>
    /// <param name="index">The device ordinal.</param>
    public static EmulatedCudaDriver Driver(int index = 0) => (EmulatedCudaDriver)Backend(index).Driver;
}
