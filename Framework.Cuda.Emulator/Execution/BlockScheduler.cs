namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Runs the blocks of a launch. Blocks are independent by the CUDA model, so they run in parallel on
/// worker threads, each with its own <see cref="BlockRunner"/>. If blocks fail, the failure of the
/// lowest-numbered block is reported so a failing launch gives a stable message.
/// </summary>
internal static class BlockScheduler
{
    public static EmulatorCounters Run(LaunchContext ctx, int maxDegreeOfParallelism)
    {
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
        return new EmulatorCounters
        {
            Launches = 1, Instructions = instructions, GlobalBytesRead = read, GlobalBytesWritten = written,
            SharedLoads = sLoads, SharedStores = sStores, AtomicOperations = atomics, GlobalAtomicBytes = atomicBytes,
        };
    }
}
