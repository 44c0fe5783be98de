using Framework.Cuda;

namespace Framework.Cuda.Emulator;

/// <summary>What the emulator's sanitizer caught.</summary>
public enum EmulatorCheck
{
    /// <summary>A global (or generic) access outside every allocation.</summary>
    GlobalOutOfBounds,
    /// <summary>An access whose address is not a multiple of its size (the whole vector for .v2/.v4).</summary>
    MisalignedAddress,
    /// <summary>A shared access outside the block's static + dynamic shared memory.</summary>
    SharedOutOfBounds,
    /// <summary>A local access outside the thread's .local variables.</summary>
    LocalOutOfBounds,
    /// <summary>A parameter read beyond the kernel's parameter buffer.</summary>
    ParameterOutOfBounds,
    /// <summary>Two threads touched the same shared byte, at least one writing, with no barrier between.</summary>
    SharedRace,
    /// <summary>Threads of a block reached different barriers, or some waited while others exited.</summary>
    BarrierDivergence,
    /// <summary>A shfl.sync or vote.sync whose member mask names a lane that is not executing it.</summary>
    WarpSyncDivergence,
    /// <summary>A bra.uni whose guard differs between the lanes executing it.</summary>
    DivergentUniformBranch,
    /// <summary>A register read before any write in that thread.</summary>
    UninitializedRegister,
    /// <summary>Grid, block or shared-memory size beyond the device limits or the kernel's .reqntid/.maxntid.</summary>
    InvalidLaunchShape,
    /// <summary>The packed parameter buffer's size differs from the kernel's .param list.</summary>
    ParameterSizeMismatch,
    /// <summary>A block ran past <see cref="EmulatedCudaDriver.MaxInstructionsPerBlock"/> (an endless loop or a spin-wait).</summary>
    InstructionLimitExceeded,
    /// <summary>Valid PTX that the emulator does not implement at run time (e.g. bar.sync with a thread count).</summary>
    Unsupported,
    /// <summary>
    /// Two threads of different blocks, or of different warps of one block between the same two barriers,
    /// touched the same global byte and at least one of them with a plain store (not an atomic).
    /// </summary>
    GlobalRace,
    /// <summary>A kernel load or atomic read global bytes that nothing wrote since cuMemAlloc (compute-sanitizer's initcheck).</summary>
    UninitializedGlobalRead,
    /// <summary>A kernel load or atomic read shared bytes that no thread of the block has written.</summary>
    UninitializedSharedRead,
}

/// <summary>
/// A kernel launch the emulator failed because a check fired. The message names the check, the
/// kernel, the PTX line and the block and thread that hit it.
/// </summary>
public sealed class EmulatorCheckException : CudaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="check">What was caught.</param>
    /// <param name="kernel">Kernel name.</param>
    /// <param name="line">1-based PTX line, 0 for launch-configuration failures.</param>
    /// <param name="block">Block index (x, y, z), or null when no block ran.</param>
    /// <param name="thread">Thread index within the block (x, y, z), or null.</param>
    /// <param name="detail">What was expected and what happened.</param>
    public EmulatorCheckException(EmulatorCheck check, string kernel, int line, Dim3? block, Dim3? thread, string detail)
        : base(ErrorFor(check), "cuLaunchKernel", Format(check, kernel, line, block, thread, detail))
    {
        Check = check; Kernel = kernel; Line = line; Block = block; Thread = thread; Detail = detail;
    }

    /// <summary>The check that fired.</summary>
    public EmulatorCheck Check { get; }

    /// <summary>The kernel that was launched.</summary>
    public string Kernel { get; }

    /// <summary>The PTX source line of the offending instruction (0 when not tied to one).</summary>
    public int Line { get; }

    /// <summary>The block that hit the check.</summary>
    public Dim3? Block { get; }

    /// <summary>The thread (within <see cref="Block"/>) that hit the check.</summary>
    public Dim3? Thread { get; }

    /// <summary>The specific finding.</summary>
    public string Detail { get; }

    private static string Format(EmulatorCheck check, string kernel, int line, Dim3? block, Dim3? thread, string detail)
    {
        string where = line > 0 ? $" at PTX line {line}" : "";
        string who = block is { } b ? $", block {b}" + (thread is { } t ? $", thread {t}" : "") : "";
        return $"{check} in kernel '{kernel}'{where}{who}: {detail}";
    }

    private static CudaError ErrorFor(EmulatorCheck check) => check switch
    {
        EmulatorCheck.GlobalOutOfBounds or EmulatorCheck.SharedOutOfBounds or EmulatorCheck.LocalOutOfBounds
            or EmulatorCheck.ParameterOutOfBounds => CudaError.IllegalAddress,
        EmulatorCheck.MisalignedAddress => CudaError.MisalignedAddress,
        EmulatorCheck.InvalidLaunchShape => CudaError.LaunchOutOfResources,
        EmulatorCheck.ParameterSizeMismatch => CudaError.InvalidValue,
        _ => CudaError.LaunchFailed,
    };
}
