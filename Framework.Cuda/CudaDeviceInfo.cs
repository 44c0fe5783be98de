namespace Framework.Cuda;

/// <summary>Properties of the current device that the backend sizes launches by.</summary>
/// <param name="Name">Device name, e.g. "NVIDIA H100".</param>
/// <param name="ComputeCapabilityMajor">Compute capability major (attribute 75).</param>
/// <param name="ComputeCapabilityMinor">Compute capability minor (attribute 76).</param>
/// <param name="TotalMemoryBytes">Global memory size in bytes.</param>
/// <param name="MultiprocessorCount">Number of streaming multiprocessors.</param>
/// <param name="MaxThreadsPerBlock">Largest block volume a launch may use.</param>
/// <param name="MaxSharedMemoryPerBlock">Shared bytes (static + dynamic) available to one block by default.</param>
/// <param name="WarpSize">Threads per warp (32 on every NVIDIA GPU so far).</param>
/// <param name="DriverVersion">Driver API version, e.g. 12040 for 12.4.</param>
public sealed record CudaDeviceInfo(
    string Name,
    int ComputeCapabilityMajor,
    int ComputeCapabilityMinor,
    ulong TotalMemoryBytes,
    int MultiprocessorCount,
    int MaxThreadsPerBlock,
    int MaxSharedMemoryPerBlock,
    int WarpSize,
    int DriverVersion);
