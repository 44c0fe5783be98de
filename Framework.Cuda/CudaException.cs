namespace Framework.Cuda;

/// <summary>
/// A failed driver or cuBLAS call. <see cref="Error"/> is the driver status; <see cref="Call"/> names
/// the entry point that failed; <see cref="JitLog"/> carries the JIT compiler's log for module loads.
/// </summary>
public class CudaException : Exception
{
    /// <summary>Creates an exception for a failed call.</summary>
    /// <param name="error">The driver status.</param>
    /// <param name="call">The driver entry point that failed, e.g. <c>cuModuleLoadDataEx</c>.</param>
    /// <param name="message">What was expected and what happened.</param>
    /// <param name="jitLog">The JIT error log, when the call compiled PTX.</param>
    public CudaException(CudaError error, string call, string message, string? jitLog = null)
        : base($"{call} failed with {error} ({(int)error}): {message}")
    {
        Error = error;
        Call = call;
        JitLog = jitLog;
    }

    /// <summary>The driver status.</summary>
    public CudaError Error { get; }

    /// <summary>The driver entry point that failed.</summary>
    public string Call { get; }

    /// <summary>The JIT compiler's error log for a failed module load, otherwise null.</summary>
    public string? JitLog { get; }

    /// <summary>
    /// For a kernel fault, the kernel (name, module, grid, block) that raised it, or, outside
    /// <c>FRAMEWORK_CUDA_LAUNCH_BLOCKING=1</c>, the last one launched before it surfaced; otherwise null.
    /// </summary>
    public string? FaultingKernel { get; init; }
}
