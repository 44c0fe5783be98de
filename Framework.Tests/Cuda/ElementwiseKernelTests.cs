using Framework.Backends;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>elementwise.ptx on edge lengths, broadcasts, strides, every op and dtype, checks on, cache off.</summary>
public class ElementwiseKernelTests : KernelEdgeTestBase
{
    private static IEnumerable<TestCaseData> UnaryCases()
    {
        foreach (var op in Enum.GetValues<UnaryOp>())
            foreach (var dt in new[] { DType.Float32, DType.Float64 })
                yield return new TestCaseData(op, dt);
        foreach (var op in Framework.Cuda.KernelCatalog.IntUnary) yield return new TestCaseData(op, DType.Int64);
    }

    private static IEnumerable<TestCaseData> BinaryCases()
    {
        foreach (var op in Enum.GetValues<BinaryOp>())
            foreach (var dt in new[] { DType.Float32, DType.Float64 })
                yield return new TestCaseData(op, dt);
        foreach (var op in Framework.Cuda.KernelCatalog.IntBinary) yield return new TestCaseData(op, DType.Int64);
    }

    private static (double A, double B) Scalars(UnaryOp op) => op switch
    {
        UnaryOp.Pow => (3, 0),
        UnaryOp.Clamp => (-0.5, 0.75),
        _ => (0.3, 0.6),
    };

    [TestCaseSource(nameof(UnaryCases))]
    public void UnaryMatchesCpuOnEdgeLengths(UnaryOp op, DType dtype)
    {
        var (a, b) = Scalars(op);
        foreach (int n in EdgeSizes)
        {
            using var x = Random([n], dtype, n, -3, 3);
            using var xg = x.To(Dev);
            using var y = EmptyCpu([n], dtype);
            using var yg = EmptyGpu([n], dtype);
            Cpu.Unary(op, x, y, a, b);
            Gpu.Unary(op, xg, yg, a, b);
            var (rtol, atol) = Tol(dtype);
            AssertClose(y, yg, rtol, atol, $"{op} {dtype} n={n}");
        }
    }

    [Test]
    public void NonIntegralPowersAndSpecialValues([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        double[] special = [0, -0.0, 1, -1, 2.5, -2.5, 1e-300, 1e300, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 700, -745, 20.5, -20.5, 1e-8, -1e-8];
        using var x = Tensor.FromArray(special).To(dtype);
        using var xg = x.To(Dev);
        foreach (var (op, a) in new[] { (UnaryOp.Pow, -1.5), (UnaryOp.Pow, 0.5), (UnaryOp.Pow, 3.0), (UnaryOp.Pow, 0.0), (UnaryOp.Exp, 0), (UnaryOp.Log, 0),
                     (UnaryOp.Tanh, 0), (UnaryOp.Sigmoid, 0), (UnaryOp.Sqrt, 0), (UnaryOp.Rsqrt, 0), (UnaryOp.Relu, 0) })
        {
            using var y = EmptyCpu([special.Length], dtype);
            using var yg = EmptyGpu([special.Length], dtype);
            Cpu.Unary(op, x, y, a, 0);
            Gpu.Unary(op, xg, yg, a, 0);
            var (rtol, atol) = Tol(dtype);
            AssertClose(y, yg, rtol, atol, $"{op}({a}) {dtype} on special values");
        }
    }

    [TestCaseSource(nameof(BinaryCases))]
    public void BinaryMatchesCpuWithBroadcastsOnEdgeLengths(BinaryOp op, DType dtype)
    {
        foreach (int n in EdgeSizes)
        {
            bool intDiv = op == BinaryOp.Div && dtype == DType.Int64;
            using var a = intDiv ? Random([n], dtype, n, 1, 4) : Random([n], dtype, n, -3, 3);
            // Integer division: keep divisors away from zero (the CPU backend throws, the kernel cannot).
            using var b = intDiv ? Random([n], dtype, n + 7, 1, 4) : Random([n], dtype, n + 7, -3, 3);
            using var s = Random([1], dtype, 5, 1, 3);
            using var bs = s.Expand(n);
            foreach (var (lhs, rhs, what) in new[] { (a, b, "dense"), (a, bs, "scalar right"), (bs, a, "scalar left") })
            {
                using var lg = lhs.To(Dev);
                using var rg = rhs.To(Dev);
                using var sg = s.To(Dev);
                var lhsG = what == "scalar left" ? sg.Expand(n) : lg;
                var rhsG = what == "scalar right" ? sg.Expand(n) : rg;
                var outType = dtype;
                using var y = EmptyCpu([n], outType);
                using var yg = EmptyGpu([n], outType);
                Cpu.Binary(op, lhs, rhs, y, 0.25, 0.75);
                Gpu.Binary(op, lhsG, rhsG, yg, 0.25, 0.75);
                var (rtol, atol) = Tol(dtype);
                AssertClose(y, yg, rtol, atol, $"{op} {dtype} n={n} {what}");
            }
        }
    }

    [Test]
    public void GeneralStridedPathMatchesCpu([Values(DType.Float32, DType.Float64, DType.Int64)] DType dtype)
    {
        // A permuted, sliced device view and a broadcast operand: nothing merges, so the 6-dim index path runs.
        int[] shape = [3, 5, 3, 4];
        using var a = Random([5, 4, 3, 6], dtype, 1, -3, 3);
        using var b = Random([1, 1, 3, 4], dtype, 3, 1, 3);
        var av = a.Permute(2, 0, 3, 1).Slice(2, 1, 6, 2); // [3, 5, 3, 4], strides (6, 72, 2, 18)
        using var ag = a.To(Dev);
        using var bg = b.To(Dev);
        using var y = EmptyCpu(shape, dtype);
        using var yg = EmptyGpu(shape, dtype);
        Cpu.Binary(BinaryOp.Add, av, b.Expand(shape), y, 0, 0);
        Gpu.Binary(BinaryOp.Add, ag.Permute(2, 0, 3, 1).Slice(2, 1, 6, 2), bg.Expand(shape), yg, 0, 0);
        AssertClose(y, yg, 0, 0, $"add {dtype} permuted+sliced with broadcast");
    }

    [Test]
    public void RankAboveSixIsSplitOnTheHost()
    {
        // Seven dims of size 2 with every other dim transposed cannot merge below seven.
        using var x = Random([2, 2, 2, 2, 2, 2, 2, 2], DType.Float64, 4);
        var xv = x.Permute(1, 0, 3, 2, 5, 4, 7, 6);
        using var y = EmptyCpu(xv.Shape, DType.Float64);
        using var yg = EmptyGpu(xv.Shape, DType.Float64);
        Cpu.Copy(xv, y);
        using var xg = x.To(Dev);
        Gpu.Copy(xg.Permute(1, 0, 3, 2, 5, 4, 7, 6), yg);
        AssertClose(y, yg, 0, 0, "rank-8 permuted copy");
    }

    [Test]
    public void CopyConvertsEveryDtypePairAndFillsStridedViews(
        [Values(DType.Float32, DType.Float64, DType.Int64)] DType from, [Values(DType.Float32, DType.Float64, DType.Int64)] DType to)
    {
        foreach (int n in new[] { 1, 33, 257 })
        {
            using var x = Random([n, 3], from, n, -50, 50);
            using var y = EmptyCpu([3, n], to);
            using var yg = EmptyGpu([3, n], to);
            Cpu.Copy(x.Transpose(0, 1), y);
            using var xg = x.To(Dev);
            Gpu.Copy(xg.Transpose(0, 1), yg);
            AssertClose(y, yg, 0, 0, $"copy {from}->{to} transposed n={n}");
            Cpu.Fill(y.Slice(1, 0, n, 2), -7.5);
            Gpu.Fill(yg.Slice(1, 0, n, 2), -7.5);
            AssertClose(y, yg, 0, 0, $"fill {to} every other column n={n}");
        }
    }

    [Test]
    public void WhereWithEveryConditionDtype([Values(DType.Float32, DType.Float64, DType.Int64)] DType cond, [Values(DType.Float32, DType.Float64, DType.Int64)] DType dtype)
    {
        foreach (int n in new[] { 1, 32, 1025 })
        {
            using var c = Random([n], cond, n, -1, 1);
            using var a = Random([n], dtype, n + 1, -9, 9);
            using var b = Random([1], dtype, n + 2, -9, 9);
            using var y = EmptyCpu([n], dtype);
            using var yg = EmptyGpu([n], dtype);
            Cpu.Where(c.Gt(0.0).To(cond), a, b.Expand(n), y);
            using var cg = c.Gt(0.0).To(cond).To(Dev);
            Gpu.Where(cg, a.To(Dev), b.To(Dev).Expand(n), yg);
            AssertClose(y, yg, 0, 0, $"where cond {cond} values {dtype} n={n}");
        }
    }

    [Test]
    public void MoreElementsThanOneGridCoversUseTheGridStrideLoop()
    {
        // The grid is capped at 4096 blocks of 256 threads; beyond 1,048,576 elements threads loop.
        int n = 4096 * 256 + 37;
        using var a = Random([n], DType.Float32, 1);
        using var b = Random([n], DType.Float32, 2);
        using var y = EmptyCpu([n], DType.Float32);
        using var yg = EmptyGpu([n], DType.Float32);
        Cpu.Binary(BinaryOp.Add, a, b, y, 0, 0);
        Gpu.Binary(BinaryOp.Add, a.To(Dev), b.To(Dev), yg, 0, 0);
        Assert.That(Driver.LastLaunch.GlobalBytesWritten, Is.EqualTo(4L * n), "each element written exactly once");
        AssertClose(y, yg, 0, 0, "add over more than one grid");
    }
}
