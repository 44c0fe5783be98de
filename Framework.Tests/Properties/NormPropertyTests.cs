using CsCheck;
using Framework.Nn;
using NUnit.Framework;
using static Framework.Tests.Properties.PropertyRun;

namespace Framework.Tests.Properties;

/// <summary>
/// Properties of BatchNorm2d and InstanceNorm2d in training and eval mode (NORMS.md): output, running
/// statistics and the batch counter, and the gradients of input (through its views), weight and bias,
/// against a float64 reference written from NORMS.md's formulas. Refused batches leave the state as it was.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class NormPropertyTests : BackendTestBase
{
    public NormPropertyTests(Device device) : base(device) { }

    private sealed record NormCase(DType DType, Operand X, bool Training, bool Affine, bool Track, double? Momentum, double Eps,
        long Batches, double[] Weight, double[] Bias, double[] RunningMean, double[] RunningVar)
    {
        public override string ToString() =>
            $"{DType}, {(Training ? "train" : "eval")}, affine {Affine}, track {Track}, momentum {Momentum?.ToString() ?? "null"}, eps {Eps}, " +
            $"batches {Batches}, weight {{{string.Join(", ", Weight)}}}, bias {{{string.Join(", ", Bias)}}}, " +
            $"running_mean {{{string.Join(", ", RunningMean)}}}, running_var {{{string.Join(", ", RunningVar)}}}, x {X}";
    }

    private static Gen<NormCase> Cases(bool instance) =>
        from dtype in Gens.DTypes
        from rank in instance ? Gen.Frequency((1, Gen.Const(3)), (3, Gen.Const(4))) : Gen.Const(4)
        from n in Gen.Frequency((1, Gen.Const(0)), (6, Gen.Int[1, 3]))
        from c in Gen.Int[1, 4]
        from h in Gen.Frequency((1, Gen.Const(0)), (2, Gen.Const(1)), (6, Gen.Int[2, 5]))
        from w in Gen.Frequency((1, Gen.Const(0)), (2, Gen.Const(1)), (6, Gen.Int[2, 5]))
        from x in Gens.OperandOf(rank == 3 ? [c, h, w] : [n, c, h, w])
        from training in Gen.Bool
        from affine in Gen.Frequency((1, Gen.Const(false)), (3, Gen.Const(true)))
        from track in Gen.Bool
        from momentum in Gen.OneOf(Gen.Const((double?)0.1), Gen.Const((double?)0.5), Gen.Const((double?)null))
        from eps in Gen.OneOf(Gen.Const(1e-5), Gen.Const(0.25))
        from batches in Gen.Int[0, 3]
        from weight in Gen.Double[-2, 2].Array[c]
        from bias in Gen.Double[-2, 2].Array[c]
        from rm in Gen.Double[-1, 1].Array[c]
        from rv in Gen.Double[0.2, 3].Array[c]
        select new NormCase(dtype, x, training, affine, track, momentum, eps, batches, weight, bias, rm, rv);

    [Test]
    public void BatchNorm2d() => Run(instance: false);

    [Test]
    public void InstanceNorm2d() => Run(instance: true);

    private void Run(bool instance)
    {
        Check(Cases(instance), Device, c =>
        {
            var dtype = c.DType;
            int ch = c.Weight.Length;
            NormBase module = instance
                ? new InstanceNorm2d(ch, c.Eps, c.Momentum, c.Affine, c.Track, dtype: dtype, device: Device)
                : new BatchNorm2d(ch, c.Eps, c.Momentum, c.Affine, c.Track, dtype: dtype, device: Device);
            using (Tensor.NoGrad())
            {
                if (c.Affine)
                {
                    module.Weight!.CopyFrom(ToDevice(new Ref([ch], c.Weight), Device, dtype));
                    module.Bias!.CopyFrom(ToDevice(new Ref([ch], c.Bias), Device, dtype));
                }
                if (c.Track)
                {
                    module.RunningMean!.CopyFrom(ToDevice(new Ref([ch], c.RunningMean), Device, dtype));
                    module.RunningVar!.CopyFrom(ToDevice(new Ref([ch], c.RunningVar), Device, dtype));
                    module.NumBatchesTracked!.CopyFrom(Tensor.FromArray(new[] { c.Batches }, [], Device));
                }
            }
            module.Train(c.Training);
            var (leaf, view) = c.X.Build(Device, dtype, true);
            var xr = c.X.Value(dtype);
            // As (N, C, HW): unbatched (C, H, W) input is N = 1.
            int n = xr.Rank == 3 ? 1 : xr.Shape[0], hw = xr.Shape[^1] * xr.Shape[^2];
            bool batchStats = c.Training || !c.Track;
            int groupSize = instance ? hw : n * hw;
            string what = instance ? "InstanceNorm2d" : "BatchNorm2d";
            Tensor y;
            try
            {
                y = module.Forward(view);
            }
            catch (ArgumentException) when (xr.Numel > 0 && batchStats && groupSize <= 1)
            {
                CheckState(module, c, c.RunningMean, c.RunningVar, c.Batches, what + " after a refused batch");
                return;
            }
            if (xr.Numel > 0 && batchStats && groupSize <= 1)
                throw new PropertyFailure($"{what}: expected ArgumentException for {groupSize} element(s) per statistic, got a result");

            // Statistics of each group: channel c (batch) or instance (n, c).
            int groups = instance ? n * ch : ch;
            int Group(int i) => instance ? i / hw : i / hw % ch;
            var sum = new double[groups];
            for (int i = 0; i < xr.Numel; i++) sum[Group(i)] += xr.Data[i];
            var mu = sum.Select(s => s / groupSize).ToArray();
            var sq = new double[groups];
            for (int i = 0; i < xr.Numel; i++) sq[Group(i)] += (xr.Data[i] - mu[Group(i)]) * (xr.Data[i] - mu[Group(i)]);
            var var = sq.Select(s => s / groupSize).ToArray();
            double Gamma(int i) => c.Affine ? Operand.Round(c.Weight[i / hw % ch], dtype) : 1;
            double Beta(int i) => c.Affine ? Operand.Round(c.Bias[i / hw % ch], dtype) : 0;
            double Rm(int i) => Operand.Round(c.RunningMean[i / hw % ch], dtype);
            double Rv(int i) => Operand.Round(c.RunningVar[i / hw % ch], dtype);
            double Mean(int i) => batchStats ? mu[Group(i)] : Rm(i);
            double Rstd(int i) => 1 / Math.Sqrt((batchStats ? var[Group(i)] : Rv(i)) + c.Eps);
            var xhat = xr.Data.Select((v, i) => (v - Mean(i)) * Rstd(i)).ToArray();
            var expected = new Ref(xr.Shape, xhat.Select((v, i) => Gamma(i) * v + Beta(i)).ToArray());
            double scale = 10;
            Close(y, expected, dtype, what + " output", scale);

            // Running statistics: updated only in training with tracking and a non-empty batch.
            var rm = c.RunningMean.Select(v => Operand.Round(v, dtype)).ToArray();
            var rv = c.RunningVar.Select(v => Operand.Round(v, dtype)).ToArray();
            long batches = c.Batches;
            if (c.Training && c.Track && xr.Numel > 0)
            {
                batches++;
                double f = c.Momentum ?? 1.0 / batches;
                for (int k = 0; k < ch; k++)
                {
                    // Batch: one group per channel; instance: the mean over the batch of the per-instance statistics.
                    var ks = instance ? Enumerable.Range(0, n).Select(b => b * ch + k).ToArray() : [k];
                    double m = ks.Average(g => mu[g]), v = ks.Average(g => var[g] * groupSize / (groupSize - 1));
                    rm[k] = (1 - f) * rm[k] + f * m;
                    rv[k] = (1 - f) * rv[k] + f * v;
                }
            }
            if (c.Track) CheckState(module, c, rm, rv, batches, what);

            // Gradients (NORMS.md): batch statistics dx = rstd (g gamma - mean(g gamma) - xhat mean(g gamma xhat)); running: g gamma rstd.
            var up = Upstream(xr.Shape);
            var gg = new double[groups];
            var ggx = new double[groups];
            for (int i = 0; i < xr.Numel; i++)
            {
                gg[Group(i)] += up.Data[i] * Gamma(i) / groupSize;
                ggx[Group(i)] += up.Data[i] * Gamma(i) * xhat[i] / groupSize;
            }
            var gx = xr.Data.Select((_, i) => batchStats
                ? Rstd(i) * (up.Data[i] * Gamma(i) - gg[Group(i)] - xhat[i] * ggx[Group(i)])
                : up.Data[i] * Gamma(i) * Rstd(i)).ToArray();
            var leaves = new List<(Tensor, double[], string)> { (leaf, c.X.BaseGrad(new Ref(xr.Shape, gx)), "input of " + what) };
            if (c.Affine)
            {
                var gw = new double[ch];
                var gb = new double[ch];
                for (int i = 0; i < xr.Numel; i++)
                {
                    gw[i / hw % ch] += up.Data[i] * xhat[i];
                    gb[i / hw % ch] += up.Data[i];
                }
                leaves.Add((module.Weight!, gw, "weight of " + what));
                leaves.Add((module.Bias!, gb, "bias of " + what));
            }
            CheckGrads(y, Device, dtype, [.. leaves], scale);
        });
    }

    private static void CheckState(NormBase module, NormCase c, double[] rm, double[] rv, long batches, string what)
    {
        if (!c.Track) return;
        Close(Values(module.RunningMean!), rm.Select(v => Operand.Round(v, c.DType)).ToArray(), c.DType, what + " running_mean", 10);
        Close(Values(module.RunningVar!), rv.Select(v => Operand.Round(v, c.DType)).ToArray(), c.DType, what + " running_var", 10);
        long counted = module.NumBatchesTracked!.ToArray<long>()[0];
        if (counted != batches) throw new PropertyFailure($"{what} num_batches_tracked: expected {batches}, got {counted}");
    }
}
