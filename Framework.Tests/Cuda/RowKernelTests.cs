using Framework.Backends;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>reduce.ptx, softmax.ptx and the cuBLAS mapping on edge shapes, checks on, cache off.</summary>
public class RowKernelTests : KernelEdgeTestBase
{
    private static int[] Kept(int[] shape, int[] dims) => shape.Select((s, d) => dims.Contains(d) ? 1 : s).ToArray();

    private void CheckReduce(ReduceOp op, DType dtype, int[] shape, int[] dims, bool unbiased = true, bool withIndices = false, Tensor? input = null)
    {
        using var x = input ?? Random(shape, dtype, shape.Sum() + dims.Sum(), -3, 3);
        var outShape = Kept(shape, dims);
        using var y = EmptyCpu(outShape, dtype);
        using var yg = EmptyGpu(outShape, dtype);
        using var i = withIndices ? EmptyCpu(outShape, DType.Int64) : null;
        using var ig = withIndices ? EmptyGpu(outShape, DType.Int64) : null;
        Cpu.Reduce(op, x, dims, y, i, unbiased);
        using var xg = x.To(Dev);
        Gpu.Reduce(op, xg, dims, yg, ig, unbiased);
        string what = $"{op} {dtype} [{string.Join(",", shape)}] over [{string.Join(",", dims)}]";
        if (dtype == DType.Float32 && op is ReduceOp.Sum or ReduceOp.Mean or ReduceOp.Var)
        {
            // The CPU sums in f32, the kernel in f64: allow f32 rounding relative to the sum of magnitudes per row.
            double mag = Values(x).Select(Math.Abs).Max() * (x.Numel / Math.Max(1, y.Numel));
            AssertClose(y, yg, 1e-5, 1e-6 * mag * (op == ReduceOp.Var ? mag : 1), what);
        }
        else AssertClose(y, yg, dtype == DType.Float32 ? 0 : 1e-12, dtype == DType.Float32 ? 0 : 1e-13, what);
        if (withIndices) AssertClose(i!, ig!, 0, 0, what + " indices");
    }

    private static IEnumerable<TestCaseData> ReduceCases() =>
        from op in Enum.GetValues<ReduceOp>()
        from dt in new[] { DType.Float32, DType.Float64, DType.Int64 }
        where !(dt == DType.Int64 && op == ReduceOp.Var) // var is float-only (refused before the backend)
        select new TestCaseData(op, dt);

    [TestCaseSource(nameof(ReduceCases))]
    public void ReductionsOverTrailingRowsOfEdgeLengths(ReduceOp op, DType dtype)
    {
        foreach (int len in EdgeSizes)
            CheckReduce(op, dtype, [3, len], [1], withIndices: op is ReduceOp.Max or ReduceOp.Min);
    }

    [Test]
    public void ReductionsOverLeadingAndMixedDims([Values(ReduceOp.Sum, ReduceOp.Mean, ReduceOp.Var, ReduceOp.Max)] ReduceOp op)
    {
        CheckReduce(op, DType.Float64, [7, 33, 5], [0]);
        CheckReduce(op, DType.Float64, [7, 33, 5], [0, 2]);
        CheckReduce(op, DType.Float64, [7, 33, 5], [0, 1, 2]);
        CheckReduce(op, DType.Float64, [7, 33, 5], [0, 1]);
        CheckReduce(op, DType.Float64, [7, 33, 5], [1]);
        CheckReduce(op, DType.Float32, [1025, 3], [0]);
        if (op != ReduceOp.Var) CheckReduce(op, DType.Int64, [33, 257], [0]);
        CheckReduce(op, DType.Float64, [1, 1], [0, 1]);
        CheckReduce(op, DType.Float64, [2, 300], [1], unbiased: false);
        // 5000 rows: more rows than the 4096-block grid, so blocks loop over rows.
        CheckReduce(op, DType.Float32, [5000, 3], [1]);
    }

    [Test]
    public void FewLongRowsAreSplitIntoPartsAndStillMatch(
        [Values(ReduceOp.Sum, ReduceOp.Mean)] ReduceOp op, [Values(DType.Float32, DType.Float64, DType.Int64)] DType dtype)
    {
        if (op == ReduceOp.Mean && dtype == DType.Int64)
        {
            CheckReduce(op, dtype, [1, 70001], [1]); // integer mean is not split: one block per row
            return;
        }
        Driver.ResetCounters();
        CheckReduce(op, dtype, [1, 3 * 65536 + 5], [1]);
        Assert.That(Driver.Totals.Launches, Is.GreaterThanOrEqualTo(2), "partials, then their sum (then a copy or memcpy into y)");
        CheckReduce(op, dtype, [3, 70001], [1]);
        CheckReduce(op, dtype, [2, 65536], [0, 1]);
        CheckReduce(op, dtype, [70000, 2], [0]); // a few long columns: packed, then split rows
    }

    [Test]
    public void MaxMinPickTheFirstOccurrenceAndPropagateNaN([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        var data = new double[] { 1, 5, 5, -2, 5, double.NaN, 0, double.NaN, -7, -7, 3, -7 };
        foreach (var op in new[] { ReduceOp.Max, ReduceOp.Min })
        {
            using var x = Tensor.FromArray(data, [3, 4]).To(dtype);
            CheckReduce(op, dtype, [3, 4], [1], withIndices: true, input: x.Clone());
        }
        // A long row with ties spread over warps and threads.
        var ties = Enumerable.Range(0, 700).Select(k => (double)(k % 100 == 37 ? 9 : k % 7)).ToArray();
        using var t = Tensor.FromArray(ties, [1, 700]).To(dtype);
        CheckReduce(ReduceOp.Max, dtype, [1, 700], [1], withIndices: true, input: t.Clone());
    }

    [Test]
    public void SoftmaxAndBackwardOnEdgeRowLengths([Values(DType.Float32, DType.Float64)] DType dtype, [Values(false, true)] bool log)
    {
        var (rtol, atol) = dtype == DType.Float32 ? (1e-5, 1e-6) : (1e-12, 1e-14);
        foreach (var (shape, dim) in new[] { (new[] { 1, 1 }, 1), (new[] { 2, 31 }, 1), (new[] { 3, 32 }, 1), (new[] { 2, 33 }, 1), (new[] { 2, 1025 }, 1),
                     (new[] { 4, 33, 6 }, 1), (new[] { 5, 3, 2 }, 0), (new[] { 33000, 2 }, 1) })
        {
            // More rows than 4096 blocks x 8 warps (warps loop over rows): once is enough, it is the slow case.
            if (shape[0] == 33000 && (dtype != DType.Float32 || log)) continue;
            using var x = Random(shape, dtype, shape.Sum(), -4, 4);
            using var g = Random(shape, dtype, shape.Sum() + 1, -1, 1);
            using var y = EmptyCpu(shape, dtype);
            using var yg = EmptyGpu(shape, dtype);
            Cpu.Softmax(x, dim, y, log);
            using var xg = x.To(Dev);
            Gpu.Softmax(xg, dim, yg, log);
            string what = $"{(log ? "log" : "")}softmax {dtype} [{string.Join(",", shape)}] dim {dim}";
            AssertClose(y, yg, rtol, atol, what);
            using var dx = EmptyCpu(shape, dtype);
            using var dxg = EmptyGpu(shape, dtype);
            Cpu.SoftmaxBackward(g, y, dim, dx, log);
            using var gg = g.To(Dev);
            Gpu.SoftmaxBackward(gg, yg, dim, dxg, log);
            AssertClose(dx, dxg, rtol * 10, atol * 10, what + " backward");
        }
    }

    [Test]
    public void MatmulMapsRowMajorOntoCublasForEveryTransposeAndBatchShape(
        [Values(DType.Float32, DType.Float64)] DType dtype, [Values(false, true)] bool transA, [Values(false, true)] bool transB)
    {
        foreach (var (ba, bb, m, k, n) in new[] { (1, 1, 1, 1, 1), (1, 1, 3, 5, 2), (4, 4, 3, 5, 2), (4, 1, 2, 33, 3), (1, 3, 5, 1, 4) })
        {
            int batch = Math.Max(ba, bb);
            using var a = Random(transA ? [ba, k, m] : [ba, m, k], dtype, m + k, -1, 1);
            using var b = Random(transB ? [bb, n, k] : [bb, k, n], dtype, k + n, -1, 1);
            using var c = Random([batch, m, n], dtype, 99, -1, 1);
            using var cg = c.To(Dev);
            using var ag = a.To(Dev);
            using var bg = b.To(Dev);
            var (rtol, atol) = dtype == DType.Float32 ? (1e-5, 1e-5) : (1e-12, 1e-13);
            foreach (bool acc in new[] { false, true })
            {
                Cpu.Matmul(a, b, c, transA, transB, acc);
                Gpu.Matmul(ag, bg, cg, transA, transB, acc);
                AssertClose(c, cg, rtol, atol, $"matmul {dtype} tA={transA} tB={transB} batch {ba}/{bb} m={m} k={k} n={n} accumulate={acc}");
            }
        }
    }
}
