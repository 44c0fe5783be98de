using Framework.Nn;
using Framework.Optim;

namespace Framework.Distributed.Tests;

/// <summary>
/// DistributedDataParallel on every rank against one process training on the concatenated batches, in
/// float64: the same weights after N SGD steps (tolerance 1e-12 relative), with and without NoSync
/// accumulation, with small buckets (several all-reduces during backward); and the wrap-time shape check.
/// </summary>
internal static class DdpCases
{
    private const int In = 5, Hidden = 7, Out = 3, PerRank = 4, Steps = 5;
    private const double Tol = 1e-12;

    public static void Run(ProcessGroup g, Device device)
    {
        Train(g, device, microBatches: 1);
        Train(g, device, microBatches: 3);
        ShapeMismatch(g, device);
    }

    private static Sequential Model(ulong seed, Device device, int hidden = Hidden) =>
        new(new Linear(In, hidden, generator: new Generator(seed), dtype: DType.Float64, device: device), new Tanh(),
            new Linear(hidden, Out, generator: new Generator(seed + 100), dtype: DType.Float64, device: device));

    private static void Train(ProcessGroup g, Device device, int microBatches)
    {
        int total = PerRank * g.WorldSize;
        // Rank r initialises differently: the wrap must broadcast rank 0's weights.
        using var reference = Model(1, device);
        using var ddp = new DistributedDataParallel(Model((ulong)(1 + g.Rank), device), g, bucketCapMb: 100.0 / (1 << 20));
        if (ddp.BucketCount < 2) throw new InvalidOperationException($"expected several buckets with a 100-byte cap, got {ddp.BucketCount}");
        var optRef = new SGD(reference.Parameters(), lr: 0.1);
        var optDdp = new SGD(ddp.Parameters(), lr: 0.1);
        for (int step = 0; step < Steps; step++)
        {
            optRef.ZeroGrad();
            optDdp.ZeroGrad();
            for (int k = 0; k < microBatches; k++)
            {
                using var scope = new TensorScope();
                var gen = new Generator((ulong)(1000 + 10 * step + k));
                var x = Tensor.Randn([total, In], gen, DType.Float64, device);
                var t = Tensor.Randn([total, Out], gen, DType.Float64, device);
                Loss(reference.Forward(x), t).Backward();
                var xs = x.Narrow(0, g.Rank * PerRank, PerRank);
                var ts = t.Narrow(0, g.Rank * PerRank, PerRank);
                if (k < microBatches - 1)
                {
                    using (ddp.NoSync()) Loss(ddp.Forward(xs), ts).Backward();
                }
                else Loss(ddp.Forward(xs), ts).Backward();
            }
            optRef.Step();
            optDdp.Step();
        }
        var refParams = reference.NamedParameters().ToList();
        var ddpParams = ddp.Module.NamedParameters().ToList();
        for (int i = 0; i < refParams.Count; i++)
            Check.Close(Check.D(refParams[i].Parameter), Check.D(ddpParams[i].Parameter), Tol, $"ddp ({microBatches} micro-batches) {refParams[i].Name} after {Steps} steps");
        if (!ddp.StateDict().Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal)))
            throw new InvalidOperationException("DDP state dict keys expected under 'module.'");
    }

    private static Tensor Loss(Tensor y, Tensor t)
    {
        var d = y.Sub(t);
        return d.Mul(d).Mean();
    }

    private static void ShapeMismatch(ProcessGroup g, Device device)
    {
        using var model = Model(1, device, hidden: g.Rank == 1 ? Hidden + 1 : Hidden);
        try
        {
            using var ddp = new DistributedDataParallel(model, g);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("expected the same parameters", StringComparison.Ordinal))
        {
            return;
        }
        throw new InvalidOperationException("DistributedDataParallel accepted different parameter shapes on different ranks");
    }
}
