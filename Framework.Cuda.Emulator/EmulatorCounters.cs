namespace Framework.Cuda.Emulator;

/// <summary>
/// Work counted by the emulator. Instructions are thread-instructions: one per active thread per
/// executed instruction (lanes switched off by a false guard predicate still count, as they issue).
/// Global bytes count plain loads and stores at their access size; atomics are counted separately
/// (<see cref="AtomicOperations"/>, <see cref="GlobalAtomicBytes"/>).
/// </summary>
public sealed record EmulatorCounters
{
    /// <summary>Kernel launches.</summary>
    public long Launches { get; init; }
    /// <summary>Thread-instructions executed.</summary>
    public long Instructions { get; init; }
    /// <summary>Bytes read from global memory by ld (and by sgemm, at one read per input element).</summary>
    public long GlobalBytesRead { get; init; }
    /// <summary>Bytes written to global memory by st (and by sgemm, one write per output element).</summary>
    public long GlobalBytesWritten { get; init; }
    /// <summary>Thread-level shared-memory loads.</summary>
    public long SharedLoads { get; init; }
    /// <summary>Thread-level shared-memory stores.</summary>
    public long SharedStores { get; init; }
    /// <summary>Thread-level atom/red operations (global and shared).</summary>
    public long AtomicOperations { get; init; }
    /// <summary>Bytes of global memory targeted by atom/red (each both read and written), kept apart from ld/st traffic.</summary>
    public long GlobalAtomicBytes { get; init; }
    /// <summary>sgemm / strided-batched sgemm calls.</summary>
    public long BlasCalls { get; init; }

    /// <summary>All zero.</summary>
    public static EmulatorCounters Zero { get; } = new();

    /// <summary>Element-wise sum.</summary>
    /// <param name="a">First.</param>
    /// <param name="b">Second.</param>
    /// <returns>The sum.</returns>
    public static EmulatorCounters operator +(EmulatorCounters a, EmulatorCounters b) => new()
    {
        Launches = a.Launches + b.Launches, Instructions = a.Instructions + b.Instructions,
        GlobalBytesRead = a.GlobalBytesRead + b.GlobalBytesRead, GlobalBytesWritten = a.GlobalBytesWritten + b.GlobalBytesWritten,
        SharedLoads = a.SharedLoads + b.SharedLoads, SharedStores = a.SharedStores + b.SharedStores,
        AtomicOperations = a.AtomicOperations + b.AtomicOperations, GlobalAtomicBytes = a.GlobalAtomicBytes + b.GlobalAtomicBytes, BlasCalls = a.BlasCalls + b.BlasCalls,
    };
}
