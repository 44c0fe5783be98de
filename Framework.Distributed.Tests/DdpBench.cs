using System.Diagnostics;
using Framework.Nn;
using Framework.Optim;

namespace Framework.Distributed.Tests;

/// <summary>
/// Step time of a ResNet-style block (Conv-BN-ReLU-Conv-BN-ReLU-Linear, SyncBatchNorm under DDP) with a
/// fixed per-rank batch, and how much of the gradient all-reduce backward hides:
/// hidden = 1 - (time waiting at the end of backward) / (the same all-reduces run alone).
/// Run with -np 1 and -np 2 (tools/distributed/bench.sh).
/// </summary>
internal static class DdpBench
{
    public static void Run(ProcessGroup g)
    {
        const int batch = 16, c = 32, hw = 16, steps = 20, warmup = 3;
        var model = new Sequential(
            new Conv2d(c, c, 3, padding: 1, generator: new Generator(1)), new BatchNorm2d(c), new ReLU(),
            new Conv2d(c, c, 3, padding: 1, generator: new Generator(2)), new BatchNorm2d(c), new ReLU(),
            new Flatten(), new Linear(c * hw * hw, 10, generator: new Generator(3)));
        SyncBatchNorm.Convert(model, g);
        using var ddp = new DistributedDataParallel(model, g, bucketCapMb: 0.25);
        var opt = new SGD(ddp.Parameters(), lr: 0.01);
        var gen = new Generator((ulong)(10 + g.Rank));
        using var x = Tensor.Randn([batch, c, hw, hw], gen);
        using var t = Tensor.Randn([batch, 10], gen);
        TimeSpan total = TimeSpan.Zero, exposedBefore = TimeSpan.Zero;
        for (int s = 0; s < warmup + steps; s++)
        {
            if (s == warmup) exposedBefore = ddp.ExposedCommunication;
            var clock = Stopwatch.StartNew();
            using (var scope = new TensorScope())
            {
                opt.ZeroGrad();
                var d = ddp.Forward(x).Sub(t);
                d.Mul(d).Mean().Backward();
                opt.Step();
            }
            if (s >= warmup) total += clock.Elapsed;
        }
        double exposed = (ddp.ExposedCommunication - exposedBefore).TotalMilliseconds / steps;
        // The same gradient all-reduces, alone: one per bucket-sized group of parameters, as DDP sends them.
        var grads = ddp.Parameters().Select(p => p.Grad!.ToArray<float>()).ToList();
        var clockAlone = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++)
            foreach (var gr in grads) g.AllReduce<float>(gr, ReduceOp.Average);
        double alone = clockAlone.Elapsed.TotalMilliseconds / steps;
        if (g.Rank == 0)
            Console.WriteLine(System.FormattableString.Invariant(
                $"ddp-bench np={g.WorldSize} batch/rank={batch} {ddp.BucketCount} buckets: step {total.TotalMilliseconds / steps:F2} ms, exposed comm {exposed:F2} ms, comm alone {alone:F2} ms, hidden {(g.WorldSize > 1 && alone > 0 ? Math.Max(0, 1 - exposed / alone) : 0):P0}"));
    }
}
