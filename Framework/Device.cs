namespace Framework;

/// <summary>Kind of device a tensor lives on.</summary>
public enum DeviceType
{
    /// <summary>Host memory and the CPU backend.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through the CUDA driver API.</summary>
    Cuda,
    /// <summary>The managed PTX interpreter that stands in for a GPU where none exists (tests, users without a GPU).</summary>
    CudaEmulated,
}

/// <summary>A device: its type and ordinal. <c>Device.Cpu</c>, <c>Device.Cuda(0)</c>, <c>Device.CudaEmulated(0)</c>.</summary>
public readonly record struct Device(DeviceType Type, int Index)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu, 0);

    /// <summary>The CUDA GPU with the given ordinal.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>The emulated CUDA device with the given ordinal (runs PTX in the managed interpreter).</summary>
    public static Device CudaEmulated(int index = 0) => new(DeviceType.CudaEmulated, index);

    /// <summary>PyTorch's spelling: <c>cpu</c>, <c>cuda:0</c>; the emulated device is <c>cuda-emulated:0</c>.</summary>
    public override string ToString() => Type switch
    {
        DeviceType.Cpu => "cpu",
        DeviceType.Cuda => $"cuda:{Index}",
        _ => $"cuda-emulated:{Index}",
    };
}
