namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Runs the blocks of a launch. Without checking, blocks are independent by the CUDA model, so they run
/// in parallel on worker threads, each with its own <see cref="BlockRunner"/>; if blocks fail, the
/// failure of the lowest-numbered block is reported so a failing launch gives a stable message.
/// In checking mode (<see cref="LaunchContext.Races"/> set) <see cref="RunInterleaved"/> runs them
/// instead.
/// </summary>
internal static class BlockScheduler
{
    /// <summary>Blocks resident at once in checking mode (each holds a runner with its registers and shared memory).</summary>
    public const int ResidentBlocks = 4;

    public static EmulatorCounters Run(LaunchContext ctx, int maxDegreeOfParallelism)
    {
        if (ctx.Races is not null) return RunInterleaved(ctx);
        ulong blocks = ctx.Grid.Volume;
        long instructions = 0, read = 0, written = 0, sLoads = 0, sStores = 0, atomics = 0, atomicBytes = 0;
        object gate = new();
        (ulong Block, Exception Error)? failure = null;

        void Merge(BlockRunner r)
        {
            Interlocked.Add(ref instructions, r.Instructions);
            Interlocked.Add(ref read, r.GlobalRead);
            Interlocked.Add(ref written, r.GlobalWritten);
            Interlocked.Add(ref sLoads, r.SharedLoads);
            Interlocked.Add(ref sStores, r.SharedStores);
            Interlocked.Add(ref atomics, r.Atomics);
            Interlocked.Add(ref atomicBytes, r.GlobalAtomicBytes);
        }

        void RunOne(BlockRunner runner, ulong block, ParallelLoopState? state)
        {
            try { runner.Run(block); }
            catch (EmulatorCheckException e)
            {
                lock (gate) { if (failure is null || block < failure.Value.Block) failure = (block, e); }
                state?.Break(); // lower-numbered blocks still run, so the lowest failure is reported
            }
        }

        int workers = (int)Math.Min((ulong)maxDegreeOfParallelism, blocks);
        if (workers <= 1)
        {
            var runner = new BlockRunner(ctx);
            for (ulong b = 0; b < blocks && failure is null; b++) RunOne(runner, b, null);
            Merge(runner);
        }
        else
        {
            Parallel.For(0L, (long)blocks, new ParallelOptions { MaxDegreeOfParallelism = workers },
                () => new BlockRunner(ctx),
                (i, state, runner) => { RunOne(runner, (ulong)i, state); return runner; },
                Merge);
        }
        if (failure is { } f) throw f.Error;
        return Counters(instructions, read, written, sLoads, sStores, atomics, atomicBytes);
    }

    /// <summary>
    /// Checking mode: up to <see cref="ResidentBlocks"/> blocks are resident at once, as on an SM, and a
    /// generator seeded with <see cref="LaunchContext.InterleaveSeed"/> picks which one runs its next
    /// barrier phase (all its warps up to the next bar.sync or exit). A finished block's slot takes the next
    /// block in index order. So block 1 can run ahead of block 0, one block's phase can fall between two
    /// of another's, and code that assumes blocks run in order, one after another, sees a different
    /// order. It all runs on the calling thread, which lets <see cref="GlobalRaceTracker"/> keep its
    /// shadow without locks. The first failure in that order is reported.
    /// </summary>
    private static EmulatorCounters RunInterleaved(LaunchContext ctx)
    {
        ulong blocks = ctx.Grid.Volume;
        int resident = (int)Math.Min((ulong)ResidentBlocks, blocks);
        var runners = new BlockRunner[resident];
        var slots = new int[resident];
        ulong next = 0;
        for (int i = 0; i < resident; i++) { runners[i] = new BlockRunner(ctx); runners[i].Begin(next++); slots[i] = i; }
        var rng = new Random(ctx.InterleaveSeed);
        int live = resident;
        try
        {
            while (live > 0)
            {
                int k = rng.Next(live);
                var runner = runners[slots[k]];
                if (!runner.Step()) continue;
                if (next < blocks) runner.Begin(next++);
                else slots[k] = slots[--live];
            }
        }
        finally { ctx.Races!.EndLaunch(); }
        long instructions = 0, read = 0, written = 0, sLoads = 0, sStores = 0, atomics = 0, atomicBytes = 0;
        foreach (var r in runners)
        {
            instructions += r.Instructions; read += r.GlobalRead; written += r.GlobalWritten; sLoads += r.SharedLoads;
            sStores += r.SharedStores; atomics += r.Atomics; atomicBytes += r.GlobalAtomicBytes;
        }
        return Counters(instructions, read, written, sLoads, sStores, atomics, atomicBytes);
    }

    private static EmulatorCounters Counters(long instructions, long read, long written, long sLoads, long sStores, long atomics, long atomicBytes) =>
        new EmulatorCounters
        {
            Launches = 1, Instructions = instructions, GlobalBytesRead = read, GlobalBytesWritten = written,
            SharedLoads = sLoads, SharedStores = sStores, AtomicOperations = atomics, GlobalAtomicBytes = atomicBytes,
        };
}
