using Framework.Nn;

namespace Framework.Distributed.Tests;

/// <summary>The multi-process test cases (each run on every rank of one mpirun job).</summary>
internal static class Cases
{
    public static readonly string[] Names = ["collectives", "syncbn", "ddp", "stall", "throw", "kill", "bench", "ddpbench"];

    public static void Run(string name, ProcessGroup group, Device device)
    {
        switch (name)
        {
            case "collectives": Collectives(group, device); break;
            case "syncbn": SyncBn(group, device); break;
            case "ddp": DdpCases.Run(group, device); break;
            case "stall": Stall(group); break;
            case "throw": Throw(group); break;
            case "kill": Kill(group); break;
            case "bench": Bench.Run(group); break;
            case "ddpbench": DdpBench.Run(group); break;
            default: throw new ArgumentException($"unknown case '{name}'; expected one of {string.Join(", ", Names)}");
        }
    }

    /// <summary>All-reduce (sum, average, max), broadcast and all-gather of float32, float64 and int64 tensors.</summary>
    private static void Collectives(ProcessGroup g, Device device)
    {
        int r = g.Rank, w = g.WorldSize;
        double sumRanks = w * (w - 1) / 2.0;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
        {
            using var scope = new TensorScope();
            Tensor Make(Func<int, double> f) => Tensor.Arange(0, 5, 1, DType.Float64).Mul(0).Add(1).To(dtype).To(device) is var t
                ? Fill(t, f) : throw new InvalidOperationException();
            Tensor Fill(Tensor t, Func<int, double> f)
            {
                var v = Enumerable.Range(0, 5).Select(f).ToArray();
                using var host = Tensor.From(v, [5]);
                using var typed = host.To(dtype);
                using var moved = typed.To(device);
                using (Tensor.NoGrad()) t.CopyFrom(moved);
                return t;
            }
            var a = Make(i => r * 10 + i);
            g.AllReduce(a, ReduceOp.Sum);
            Check.Close(Enumerable.Range(0, 5).Select(i => 10 * sumRanks + w * i).ToArray(), Check.DAny(a), 0, $"AllReduce Sum {dtype}");
            var m = Make(i => r * 10 + i);
            g.AllReduce(m, ReduceOp.Max);
            Check.Close(Enumerable.Range(0, 5).Select(i => 10.0 * (w - 1) + i).ToArray(), Check.DAny(m), 0, $"AllReduce Max {dtype}");
            var av = Make(i => r * 10 + 2 * i);
            g.AllReduce(av, ReduceOp.Average);
            Check.Close(Enumerable.Range(0, 5).Select(i => Math.Truncate((10 * sumRanks + w * 2 * i) / w * 1e9) / 1e9).ToArray(), Check.DAny(av), dtype == DType.Int64 ? 1 : 1e-6, $"AllReduce Average {dtype}");
            var b = Make(i => r == w - 1 ? 100 + i : -1);
            g.Broadcast(b, root: w - 1);
            Check.Close(Enumerable.Range(0, 5).Select(i => 100.0 + i).ToArray(), Check.DAny(b), 0, $"Broadcast {dtype}");
            var parts = g.AllGather(Make(i => r * 100 + i));
            Check.Equal(w, parts.Length, $"AllGather {dtype} count");
            for (int k = 0; k < w; k++)
            {
                Check.Equal(device, parts[k].Device, $"AllGather {dtype} device");
                Check.Close(Enumerable.Range(0, 5).Select(i => k * 100.0 + i).ToArray(), Check.DAny(parts[k]), 0, $"AllGather {dtype} part {k}");
                parts[k].Dispose();
            }
        }
        // A host buffer as well (what SyncBatchNorm and the bucketed gradients use).
        var buf = new double[] { r, 1 };
        g.AllReduce<double>(buf);
        Check.Close([sumRanks, w], buf, 0, "AllReduce<double> span");
    }

    /// <summary>
    /// SyncBatchNorm over uneven per-rank batches (rank r holds 2r + 3 samples) equals BatchNorm2d over the
    /// concatenated batch in float64: outputs, input/weight/bias gradients, running statistics and
    /// num_batches_tracked, over three training steps and one eval step. Tolerance 1e-12 relative.
    /// </summary>
    private static void SyncBn(ProcessGroup g, Device device)
    {
        const int c = 3, h = 4, wd = 5;
        const double tol = 1e-12;
        int[] sizes = Enumerable.Range(0, g.WorldSize).Select(r => 2 * r + 3).ToArray();
        int total = sizes.Sum(), start = sizes.Take(g.Rank).Sum(), mine = sizes[g.Rank];

        using var reference = new BatchNorm2d(c, momentum: 0.3, dtype: DType.Float64, device: device);
        var sync = SyncBatchNorm.Create(c, g, momentum: 0.3, dtype: DType.Float64, device: device);
        // Non-trivial affine parameters, the same everywhere.
        using (Tensor.NoGrad())
        {
            foreach (var bn in new[] { reference, sync })
            {
                using var wv = Tensor.From(new double[] { 1.5, -0.5, 2 }, [c], device);
                using var bv = Tensor.From(new double[] { 0.1, 0.2, -0.3 }, [c], device);
                bn.Weight!.CopyFrom(wv);
                bn.Bias!.CopyFrom(bv);
            }
        }
        for (int step = 0; step < 3; step++)
        {
            using var scope = new TensorScope();
            var gen = new Generator((ulong)(100 + step));
            // Offset and scale per channel so that the mean matters.
            var full = Tensor.Randn([total, c, h, wd], gen, DType.Float64, device).Mul(3).Add(5 + step);
            var upstream = Tensor.Randn([total, c, h, wd], gen, DType.Float64, device);

            var xr = full.Clone().Detach().SetRequiresGrad();
            var yr = reference.Forward(xr);
            yr.Mul(upstream).Sum().Backward();

            var xs = full.Narrow(0, start, mine).Clone().Detach().SetRequiresGrad();
            var ys = sync.Forward(xs);
            ys.Mul(upstream.Narrow(0, start, mine)).Sum().Backward();

            Check.Close(Check.D(yr.Narrow(0, start, mine)), Check.D(ys), tol, $"step {step} output");
            Check.Close(Check.D(xr.Grad!.Narrow(0, start, mine)), Check.D(xs.Grad!), tol, $"step {step} input grad");
            // Weight and bias gradients are each rank's share: their sum over ranks is the whole batch's.
            var dw = Check.D(sync.Weight!.Grad!);
            var db = Check.D(sync.Bias!.Grad!);
            g.AllReduce<double>(dw);
            g.AllReduce<double>(db);
            Check.Close(Check.D(reference.Weight!.Grad!), dw, tol, $"step {step} weight grad (sum over ranks)");
            Check.Close(Check.D(reference.Bias!.Grad!), db, tol, $"step {step} bias grad (sum over ranks)");
            Check.Close(Check.D(reference.RunningMean!), Check.D(sync.RunningMean!), tol, $"step {step} running_mean");
            Check.Close(Check.D(reference.RunningVar!), Check.D(sync.RunningVar!), tol, $"step {step} running_var");
            Check.Equal(reference.NumBatchesTracked!.Item<long>(), sync.NumBatchesTracked!.Item<long>(), $"step {step} num_batches_tracked");
            reference.ZeroGrad();
            sync.ZeroGrad();
        }
        // Running statistics bit-identical on every rank.
        var rv = Check.D(sync.RunningVar!);
        var rvMax = (double[])rv.Clone();
        g.AllReduce<double>(rvMax, ReduceOp.Max);
        Check.Close(rvMax, rv, 0, "running_var identical on every rank");

        // State dicts interchangeable with BatchNorm2d; eval is exactly BatchNorm2d's with the same state
        // (no communication in eval: ranks may evaluate different batch sizes).
        using var plain = new BatchNorm2d(c, momentum: 0.3, dtype: DType.Float64, device: device);
        plain.LoadStateDict(sync.StateDict());
        Check.Close(Check.D(sync.RunningVar!), Check.D(plain.RunningVar!), 0, "state dict into BatchNorm2d");
        reference.Eval();
        sync.Eval();
        plain.Eval();
        using (var scope = new TensorScope())
        {
            var x = Tensor.Randn([g.Rank + 2, c, h, wd], new Generator((ulong)(7 + g.Rank)), DType.Float64, device);
            var ys = Check.D(sync.Forward(x));
            Check.Close(Check.D(plain.Forward(x)), ys, 0, "eval output vs BatchNorm2d with the same state");
            Check.Close(Check.D(reference.Forward(x)), ys, tol, "eval output vs the whole-batch reference");
        }
        using var back = SyncBatchNorm.Create(c, g, dtype: DType.Float64, device: device);
        back.LoadStateDict(plain.StateDict());
        Check.Close(Check.D(plain.RunningMean!), Check.D(back.RunningMean!), 0, "BatchNorm2d state dict into SyncBatchNorm");
        // Convert switches every BatchNorm2d of a tree, keeping its state.
        using var tree = new Sequential(new BatchNorm2d(c, dtype: DType.Float64, device: device), new Sequential(new BatchNorm2d(c, dtype: DType.Float64, device: device)));
        tree.LoadStateDict(tree.StateDict());
        SyncBatchNorm.Convert(tree, g);
        int converted = tree.NamedModules().Count(m => m.Module is BatchNorm2d b && SyncBatchNorm.IsSynchronized(b));
        Check.Equal(2, converted, "Convert: synchronized BatchNorm2d layers");
        sync.Dispose();
    }

    /// <summary>Rank 1 stops answering (sleeps past the deadline); rank 0's next collective must abort the job within ProcessGroup.Timeout.</summary>
    private static void Stall(ProcessGroup g)
    {
        var buf = new double[] { 1 };
        g.AllReduce<double>(buf); // one collective that succeeds
        if (g.Rank == 1) Thread.Sleep(TimeSpan.FromSeconds(120));
        g.AllReduce<double>(buf);
    }

    /// <summary>Rank 1 throws mid-step; the runner aborts the job with the exception's message.</summary>
    private static void Throw(ProcessGroup g)
    {
        var buf = new double[] { 1 };
        g.AllReduce<double>(buf);
        if (g.Rank == 1) throw new InvalidOperationException("deliberate failure on rank 1 mid-step");
        g.AllReduce<double>(buf);
    }

    /// <summary>Rank 1 is killed (SIGKILL) mid-step; the survivor must not hang.</summary>
    private static void Kill(ProcessGroup g)
    {
        var buf = new double[] { 1 };
        g.AllReduce<double>(buf);
        if (g.Rank == 1) System.Diagnostics.Process.GetCurrentProcess().Kill();
        g.AllReduce<double>(buf);
    }
}
