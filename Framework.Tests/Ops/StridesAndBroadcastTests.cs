using NUnit.Framework;

namespace Framework.Tests.Ops;

/// <summary>Ops on non-contiguous, expanded and empty inputs, and elementwise length sweeps, against scalar references.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class StridesAndBroadcastTests : BackendTestBase
{
    public StridesAndBroadcastTests(Device device) : base(device) { }

    public static IEnumerable<int> Lengths() => Enumerable.Range(0, 258);

    [TestCaseSource(nameof(Lengths))]
    public void ElementwiseLengthSweep(int n)
    {
        var g = new Generator((ulong)n);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var a = Randn(g, [n], dtype);
            var b = Randn(g, [n], dtype);
            double[] da = D(a), db = D(b);
            double tol = dtype == DType.Float32 ? 1e-6 : 1e-14;
            AssertClose(D(a + b), da.Zip(db, (x, y) => x + y).ToArray(), tol, tol, "add");
            AssertClose(D(a * b), da.Zip(db, (x, y) => x * y).ToArray(), tol, tol, "mul");
            AssertClose(D(a.Relu()), da.Select(x => Math.Max(x, 0)).ToArray(), 0, 0, "relu");
            AssertClose(D(a.Exp()), da.Select(Math.Exp).ToArray(), tol * 4, tol, "exp");
            AssertClose(D(a.Tanh()), da.Select(Math.Tanh).ToArray(), tol * 4, tol, "tanh");
            AssertClose(D(a.Gt(b)), da.Zip(db, (x, y) => x > y ? 1.0 : 0.0).ToArray(), 0, 0, "gt");
            AssertClose(D(a.Sum()), [da.Sum()], tol * 10, tol * 10, "sum");
            AssertClose(D(a * 2.0 + 1.0), da.Select(x => x * 2 + 1).ToArray(), tol, tol, "scalar");
        }
    }

    [Test]
    public void LargeElementwiseRunsInParallelChunksCorrectly()
    {
        int n = 1 << 18 | 7;
        var g = new Generator(5);
        var a = Randn(g, [n], DType.Float32);
        var b = Randn(g, [n], DType.Float32);
        var y = D(a + b);
        double[] da = D(a), db = D(b);
        for (int i = 0; i < n; i += 997) Assert.That(y[i], Is.EqualTo((float)(da[i] + db[i])));
        Assert.That(y[n - 1], Is.EqualTo((float)(da[n - 1] + db[n - 1])));
    }

    [Test]
    public void NonContiguousInputsMatchContiguousCopies()
    {
        var g = new Generator(11);
        var x = Randn(g, [5, 7, 3]);
        var y = Randn(g, [7, 5]);
        var xt = x.Permute(1, 0, 2); // [7, 5, 3], non-contiguous
        var yt = y.Unsqueeze(2);     // [7, 5, 1]
        var expected = D(xt.Contiguous() * yt.Contiguous());
        AssertClose(D(xt * yt), expected, 0, 0, "strided mul");
        AssertClose(D(xt.Exp()), D(xt.Contiguous().Exp()), 0, 0, "strided exp");
        AssertClose(D(xt.Sum(1)), D(xt.Contiguous().Sum(1)), 1e-14, 1e-14, "strided sum");
        AssertClose(D(xt.Max(0).Values), D(xt.Contiguous().Max(0).Values), 0, 0, "strided max");
        AssertClose(D(xt.Softmax(1)), D(xt.Contiguous().Softmax(1)), 1e-15, 1e-15, "strided softmax");
        AssertClose(D(xt.Var([0, 2])), D(xt.Contiguous().Var([0, 2])), 1e-13, 1e-14, "strided var");
        var sliced = x.Slice(1, 0, 7, 3); // step 3
        AssertClose(D(sliced.Tanh()), D(sliced.Contiguous().Tanh()), 0, 0, "sliced tanh");
        var m = Randn(g, [6, 4]).T; // [4, 6] transposed
        var n2 = Randn(g, [6, 5]);
        AssertClose(D(m.Matmul(n2)), D(m.Contiguous().Matmul(n2)), 1e-14, 1e-14, "transposed matmul");
    }

    [Test]
    public void ExpandedInputs()
    {
        var g = new Generator(12);
        var col = Randn(g, [4, 1]).Expand(4, 6);
        var row = Randn(g, [1, 6]).Expand(4, 6);
        var expected = D(col.Contiguous() + row.Contiguous());
        AssertClose(D(col + row), expected, 0, 0, "expanded add");
        AssertClose(D(col.Sum(0)), D(col.Contiguous().Sum(0)), 1e-14, 1e-14, "expanded sum");
        AssertClose(D(row.Exp()), D(row.Contiguous().Exp()), 0, 0, "expanded exp");
    }

    [Test]
    public void ZeroSizeDims()
    {
        var e = Tensor.Zeros([3, 0, 2], DType.Float64, Device);
        Assert.That((e + 1.0).Shape, Is.EqualTo(new[] { 3, 0, 2 }));
        Assert.That((e * Tensor.Ones([1, 1, 2], DType.Float64, Device)).Shape, Is.EqualTo(new[] { 3, 0, 2 }));
        Assert.That(D(e.Sum(1)), Is.All.EqualTo(0.0));
        Assert.That(e.Sum(1).Shape, Is.EqualTo(new[] { 3, 2 }));
        Assert.That(D(e.Sum()), Is.EqualTo(new[] { 0.0 }));
        Assert.That(double.IsNaN(D(e.Mean())[0]), Is.True);
        Assert.That(e.Softmax(1).Shape, Is.EqualTo(new[] { 3, 0, 2 }));
        var a = Tensor.Zeros([2, 0], DType.Float64, Device);
        var b = Tensor.Zeros([0, 3], DType.Float64, Device);
        Assert.That(D(a.Matmul(b)), Is.EqualTo(new double[6]), "k = 0 gives zeros");
        Assert.That(Tensor.Cat([a, Tensor.Ones([2, 1], DType.Float64, Device)], 1).Shape, Is.EqualTo(new[] { 2, 1 }));
        var x = Tensor.Zeros([0, 4], DType.Float64, Device).SetRequiresGrad();
        (x * 2.0).Sum().Backward();
        Assert.That(x.Grad!.Shape, Is.EqualTo(new[] { 0, 4 }));
        Assert.Throws<ArgumentException>(() => a.Max(1));
    }

    [Test]
    public void Int64LabelsSupportComparisonsAndSums()
    {
        var labels = Tensor.FromArray(new long[] { 1, 0, 3, 3 }, [4], Device);
        var pred = Tensor.FromArray(new long[] { 1, 2, 3, 0 }, [4], Device);
        Assert.That(labels.Eq(pred).Sum().Item<long>(), Is.EqualTo(2L));
        var logits = T([0.1, 0.9, 0.3, 0.2, 0.8, 0.1], [2, 3]);
        Assert.That(logits.ArgMax(1).ToArray<long>(), Is.EqualTo(new long[] { 1, 1 }));
    }

    [Test]
    public void NaNPropagatesThroughMaxAndRelu()
    {
        var x = T([1.0, double.NaN, 3.0], [3]);
        Assert.That(double.IsNaN(x.Max().Item()), Is.True);
        Assert.That(double.IsNaN(D(x.Relu())[1]), Is.True);
        Assert.That(double.IsNaN(D(x.Clamp(0, 2))[1]), Is.True);
    }
}
