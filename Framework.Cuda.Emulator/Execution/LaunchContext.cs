using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>Everything about one launch that all blocks share; read-only while blocks run.</summary>
internal sealed class LaunchContext
{
    /// <summary>Generic addresses in [SharedWindow, SharedWindow + 2^32) name the block's shared memory.</summary>
    public const ulong SharedWindow = 0x0000_7E00_0000_0000UL;
    /// <summary>Generic addresses in [LocalWindow, LocalWindow + 2^32) name the thread's local memory.</summary>
    public const ulong LocalWindow = 0x0000_7D00_0000_0000UL;
    public const ulong WindowSize = 1UL << 32;

    public required PtxKernel Kernel { get; init; }
    public required Framework.Cuda.Dim3 Grid { get; init; }
    public required Framework.Cuda.Dim3 Block { get; init; }
    public required byte[] Parameters { get; init; }
    public required DeviceMemory Memory { get; init; }
    /// <summary>Static plus dynamic shared bytes of one block.</summary>
    public required int SharedBytes { get; init; }
    /// <summary>Watchdog: thread-instructions one block may execute before the launch fails.</summary>
    public required long MaxInstructionsPerBlock { get; init; }
    /// <summary>Fill byte of shared and local memory at block start (their contents are undefined on a GPU).</summary>
    public required byte PoisonByte { get; init; }
    /// <summary>
    /// Checking mode: blocks run interleaved on one host thread (<see cref="BlockScheduler"/>) and global
    /// accesses are race-tracked here; null when blocks run in parallel without race tracking.
    /// </summary>
    public GlobalRaceTracker? Races { get; init; }
    /// <summary>Seed of the interleaving order in checking mode.</summary>
    public int InterleaveSeed { get; init; }
    public int ThreadsPerBlock => (int)Block.Volume;
    public int WarpsPerBlock => (ThreadsPerBlock + 31) / 32;
}
