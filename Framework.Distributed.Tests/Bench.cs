using System.Diagnostics;

namespace Framework.Distributed.Tests;

/// <summary>All-reduce bandwidth of ProcessGroup (tools/distributed/bench.sh); rank 0 prints one line per size.</summary>
internal static class Bench
{
    public static void Run(ProcessGroup g)
    {
        for (long bytes = 1024; bytes <= 64L << 20; bytes *= 4)
        {
            int count = (int)(bytes / 4);
            int iters = bytes <= 65536 ? 200 : bytes <= 4 << 20 ? 20 : 5;
            var buf = GC.AllocateArray<float>(count, pinned: true);
            Array.Fill(buf, 1f);
            Time(g, "ProcessGroup.AllReduce(span)", bytes, iters, () => g.AllReduce<float>(buf));
            using var t = Tensor.Ones([count], DType.Float32);
            Time(g, "ProcessGroup.AllReduce(tensor)", bytes, iters, () => g.AllReduce(t));
        }
    }

    private static void Time(ProcessGroup g, string what, long bytes, int iters, Action op)
    {
        op(); // warm-up
        var sync = new double[1];
        g.AllReduce<double>(sync); // a barrier
        var clock = Stopwatch.StartNew();
        for (int k = 0; k < iters; k++) op();
        double dt = clock.Elapsed.TotalSeconds / iters;
        if (g.Rank == 0) Console.WriteLine($"{what} {bytes} bytes: {dt * 1e6:F1} us, {bytes / dt / 1e9:F3} GB/s");
    }
}
