using CsCheck;
using NUnit.Framework;
using static Framework.Tests.Properties.PropertyRun;

namespace Framework.Tests.Properties;

/// <summary>
/// Properties of the reductions (sum, mean, var over dim sets with keepDim; max, min, argmax over one
/// dim and over all) and of softmax / log-softmax, on random shapes and views, against the reference.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class ReductionPropertyTests : BackendTestBase
{
    public ReductionPropertyTests(Device device) : base(device) { }

    /// <summary>A shape, an operand of it, a set of dims (null: all; some negative) and keepDim.</summary>
    private static Gen<(DType DType, Operand X, int[]? Dims, bool KeepDim)> Reduction(Gen<double> values, bool oneDim) =>
        from dtype in Gens.DTypes
        from shape in Gens.Shape()
        from x in Gens.OperandOf(shape, values)
        from pick in Gen.Int[0, (1 << Math.Max(shape.Length, 1)) - 1]
        from all in Gen.Frequency((1, Gen.Const(true)), (4, Gen.Const(false)))
        from negative in Gen.Bool
        from keepDim in Gen.Bool
        let dims = Dims(shape.Length, pick, all && !oneDim, oneDim, negative)
        select (dtype, x, dims, keepDim);

    private static int[]? Dims(int rank, int pick, bool all, bool oneDim, bool negative)
    {
        if (all || (rank == 0 && !oneDim)) return null;
        int[] dims = oneDim
            ? [rank == 0 ? 0 : pick % rank]
            : Enumerable.Range(0, rank).Where(d => (pick >> d & 1) == 1).ToArray();
        if (dims.Length == 0) return null;
        return negative && rank > 0 ? dims.Select(d => d - rank).ToArray() : dims;
    }

    private static string Describe(int[]? dims, bool keepDim) => $"dims {(dims is null ? "all" : string.Join(",", dims))}, keepDim {keepDim}";

    [TestCase("Sum"), TestCase("Mean"), TestCase("VarUnbiased"), TestCase("VarBiased")]
    public void SumMeanVar(string name)
    {
        Check(Reduction(Gens.Values, oneDim: false), Device, c =>
        {
            var (dtype, x, dims, keepDim) = c;
            var (leaf, view) = x.Build(Device, dtype, true);
            var y = name switch
            {
                "Sum" => view.Sum(dims, keepDim),
                "Mean" => view.Mean(dims, keepDim),
                "VarUnbiased" => view.Var(dims, unbiased: true, keepDim: keepDim),
                _ => view.Var(dims, unbiased: false, keepDim: keepDim),
            };
            var xr = x.Value(dtype);
            var mask = Ref.ReducedMask(xr.Rank, dims);
            var keptShape = Ref.ReducedShape(xr.Shape, mask, keepDim: true);
            int outN = Ref.Count(keptShape);
            int count = outN == 0 ? 0 : xr.Numel / outN;
            var target = Enumerable.Range(0, xr.Numel).Select(i => Ref.ReducedTarget(i, xr.Shape, mask)).ToArray();
            var sum = new double[outN];
            for (int i = 0; i < xr.Numel; i++) sum[target[i]] += xr.Data[i];
            var mean = sum.Select(s => s / count).ToArray();
            var sq = new double[outN];
            for (int i = 0; i < xr.Numel; i++) sq[target[i]] += (xr.Data[i] - mean[target[i]]) * (xr.Data[i] - mean[target[i]]);
            int correction = name == "VarUnbiased" ? 1 : 0;
            var values = name switch
            {
                "Sum" => sum,
                "Mean" => mean,
                // An empty group has no mean (NaN), and so no variance, as PyTorch.
                _ => sq.Select(s => count == 0 ? double.NaN : s / (count - correction)).ToArray(),
            };
            var what = $"{name} over {Describe(dims, keepDim)}";
            Close(y, new Ref(Ref.ReducedShape(xr.Shape, mask, keepDim), values), dtype, what, scale: 4);
            var up = Upstream(y.Shape);
            var gx = Ref.Zeros(xr.Shape);
            for (int i = 0; i < xr.Numel; i++)
            {
                double g = up.Data[target[i]];
                gx.Data[i] = name switch
                {
                    "Sum" => g,
                    "Mean" => g / count,
                    _ => g * 2.0 / (count - correction) * (xr.Data[i] - mean[target[i]]),
                };
            }
            CheckGrads(y, Device, dtype, [(leaf, x.BaseGrad(gx), "x of " + what)], scale: 4);
        });
    }

    /// <summary>
    /// Max / min / argmax over one dim give the value and the index of its first occurrence; the gradient
    /// goes to that index. Over all elements (Max(), Min()) the first occurrence in row-major order. An empty
    /// reduced dim is refused.
    /// </summary>
    [TestCase("MaxDim"), TestCase("MinDim"), TestCase("ArgMax"), TestCase("MaxAll"), TestCase("MinAll")]
    public void Extremes(string name)
    {
        Check(Reduction(Gen.OneOf(Gens.Values, Gens.Ties), oneDim: true), Device, c =>
        {
            var (dtype, x, dims, keepDim) = c;
            bool all = name.EndsWith("All", StringComparison.Ordinal);
            bool max = name != "MinDim" && name != "MinAll";
            if (all) dims = null;
            var (leaf, view) = x.Build(Device, dtype, true);
            var xr = x.Value(dtype);
            var mask = Ref.ReducedMask(xr.Rank, dims);
            if (all) keepDim = false;
            var what = $"{name} over {Describe(dims, keepDim)}";
            bool empty = Enumerable.Range(0, xr.Rank).Any(d => mask[d] && xr.Shape[d] == 0);
            if (empty)
            {
                try
                {
                    if (all) _ = max ? view.Max() : view.Min();
                    else _ = name == "ArgMax" ? view.ArgMax(dims![0], keepDim) : max ? view.Max(dims![0], keepDim).Values : view.Min(dims![0], keepDim).Values;
                }
                catch (ArgumentException) { return; }
                throw new PropertyFailure($"{what} of an empty dim: expected ArgumentException, got a result");
            }
            var keptShape = Ref.ReducedShape(xr.Shape, mask, keepDim: true);
            var outShape = Ref.ReducedShape(xr.Shape, mask, keepDim);
            int outN = Ref.Count(keptShape);
            var best = new int[outN];
            Array.Fill(best, -1);
            int axis = dims is null || xr.Rank == 0 ? -1 : (dims[0] + xr.Rank) % xr.Rank;
            // Row-major order visits each reduced group in increasing index order: keep the first extreme.
            for (int i = 0; i < xr.Numel; i++)
            {
                int o = Ref.ReducedTarget(i, xr.Shape, mask);
                if (best[o] < 0 || (max ? xr.Data[i] > xr.Data[best[o]] : xr.Data[i] < xr.Data[best[o]])) best[o] = i;
            }
            var values = new Ref(outShape, best.Select(i => xr.Data[i]).ToArray());
            var indices = new Ref(outShape, best.Select(i => (double)(axis < 0 ? 0 : Ref.Unravel(i, xr.Shape)[axis])).ToArray());
            Tensor y;
            if (name == "ArgMax")
            {
                var idx = view.ArgMax(dims![0], keepDim);
                if (idx.DType != DType.Int64) throw new PropertyFailure($"{what}: expected int64 indices, got {idx.DType}");
                Close(idx, indices, DType.Float64, what + " indices");
                return;
            }
            if (all) y = max ? view.Max() : view.Min();
            else
            {
                var (v, ix) = max ? view.Max(dims![0], keepDim) : view.Min(dims![0], keepDim);
                Close(ix, indices, DType.Float64, what + " indices");
                y = v;
            }
            Close(y, values, dtype, what);
            var up = Upstream(y.Shape);
            var gx = Ref.Zeros(xr.Shape);
            for (int o = 0; o < outN; o++) gx.Data[best[o]] += up.Data[o];
            CheckGrads(y, Device, dtype, [(leaf, x.BaseGrad(gx), "x of " + what)]);
        });
    }

    [TestCase(false), TestCase(true)]
    public void SoftmaxAndLogSoftmax(bool log)
    {
        Check(Reduction(Gens.Values, oneDim: true), Device, c =>
        {
            var (dtype, x, dims, _) = c;
            int dim = dims![0];
            var (leaf, view) = x.Build(Device, dtype, true);
            var y = log ? view.LogSoftmax(dim) : view.Softmax(dim);
            var xr = x.Value(dtype);
            var mask = Ref.ReducedMask(xr.Rank, dims);
            int outN = Ref.Count(Ref.ReducedShape(xr.Shape, mask, keepDim: true));
            var target = Enumerable.Range(0, xr.Numel).Select(i => Ref.ReducedTarget(i, xr.Shape, mask)).ToArray();
            var max = Enumerable.Repeat(double.NegativeInfinity, outN).ToArray();
            for (int i = 0; i < xr.Numel; i++) max[target[i]] = Math.Max(max[target[i]], xr.Data[i]);
            var z = new double[outN];
            for (int i = 0; i < xr.Numel; i++) z[target[i]] += Math.Exp(xr.Data[i] - max[target[i]]);
            var soft = xr.Data.Select((v, i) => Math.Exp(v - max[target[i]]) / z[target[i]]).ToArray();
            var expected = log ? xr.Data.Select((v, i) => v - max[target[i]] - Math.Log(z[target[i]])).ToArray() : soft;
            var what = $"{(log ? "LogSoftmax" : "Softmax")}({dim})";
            Close(y, new Ref(xr.Shape, expected), dtype, what);
            var up = Upstream(xr.Shape);
            // softmax: dx = s (g - sum(g s)); log-softmax: dx = g - s sum(g).
            var dot = new double[outN];
            for (int i = 0; i < xr.Numel; i++) dot[target[i]] += log ? up.Data[i] : up.Data[i] * soft[i];
            var gx = new Ref(xr.Shape, xr.Data.Select((_, i) => log ? up.Data[i] - soft[i] * dot[target[i]] : soft[i] * (up.Data[i] - dot[target[i]])).ToArray());
            CheckGrads(y, Device, dtype, [(leaf, x.BaseGrad(gx), "x of " + what)], scale: 4);
        });
    }
}
