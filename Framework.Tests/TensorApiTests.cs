using NUnit.Framework;

namespace Framework.Tests;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class TensorApiTests : BackendTestBase
{
    public TensorApiTests(Device device) : base(device) { }

    [Test]
    public void ViewsShareStorage()
    {
        var x = Tensor.Arange(0, 12, 1, DType.Float64, Device);
        var views = new[] { x.View(3, 4), x.Reshape(2, 6).T, x.View(3, 4).Permute(1, 0), x.Unsqueeze(0).Squeeze(), x.View(3, 4).Narrow(1, 1, 2), x.View(3, 4)[2] };
        foreach (var v in views) Assert.That(v.Storage, Is.SameAs(x.Storage));
        using (Tensor.NoGrad()) views[4].FillInPlace(-1);
        Assert.That(D(x), Is.EqualTo(new double[] { 0, -1, -1, 3, 4, -1, -1, 7, 8, -1, -1, 11 }));
    }

    [Test]
    public void ExpandUsesStrideZero()
    {
        var x = T([1.0, 2.0, 3.0], [3, 1]);
        var e = x.Expand(3, 4);
        Assert.That(e.Strides, Is.EqualTo(new long[] { 1, 0 }));
        Assert.That(e.Storage, Is.SameAs(x.Storage));
        Assert.That(D(e.Contiguous()), Is.EqualTo(new double[] { 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 }));
    }

    [Test]
    public void ReshapeOfNonContiguousCopiesAndViewRefuses()
    {
        var x = Tensor.Arange(0, 6, 1, DType.Float64, Device).View(2, 3).T;
        Assert.That(x.IsContiguous, Is.False);
        var ex = Assert.Throws<InvalidOperationException>(() => x.View(6));
        Assert.That(ex!.Message, Does.Contain("Reshape"));
        Assert.That(D(x.Reshape(6)), Is.EqualTo(new double[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void ViewOfCompatibleNonContiguousTensorIsAView()
    {
        var x = Tensor.Arange(0, 24, 1, DType.Float64, Device).View(2, 3, 4).Narrow(2, 0, 2); // [2,3,2], last dims not dense
        var v = x.Permute(1, 0, 2).Reshape(3, 2, 2);
        Assert.That(D(v), Is.EqualTo(D(x.Permute(1, 0, 2).Contiguous())));
    }

    [Test]
    public void FactoriesAndItem()
    {
        Assert.That(D(Tensor.Zeros([2, 2], DType.Float64, Device)), Is.All.EqualTo(0));
        Assert.That(D(Tensor.Ones([3], DType.Float32, Device)), Is.All.EqualTo(1));
        Assert.That(D(Tensor.Full([2], 7.5, DType.Float64, Device)), Is.All.EqualTo(7.5));
        Assert.That(D(Tensor.Arange(1, 2, 0.25, DType.Float64, Device)), Is.EqualTo(new[] { 1, 1.25, 1.5, 1.75 }));
        Assert.That(Tensor.Scalar(3, DType.Int64, Device).Item<long>(), Is.EqualTo(3L));
        Assert.That(Tensor.FromArray(new long[] { 4, 5 }, [2], Device).ToArray<long>(), Is.EqualTo(new long[] { 4, 5 }));
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones([2], DType.Float64, Device).Item());
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones([1], DType.Float64, Device).ToArray<float>());
    }

    [Test]
    public void RandomFactoriesAreSeeded()
    {
        var a = Tensor.Randn([100], new Generator(42), DType.Float64, Device);
        var b = Tensor.Randn([100], new Generator(42), DType.Float64, Device);
        var c = Tensor.Randn([100], new Generator(43), DType.Float64, Device);
        Assert.That(D(a), Is.EqualTo(D(b)));
        Assert.That(D(a), Is.Not.EqualTo(D(c)));
        var u = D(Tensor.Rand([10000], new Generator(1), DType.Float32, Device));
        Assert.That(u, Is.All.GreaterThanOrEqualTo(0).And.LessThan(1));
        Assert.That(u.Average(), Is.EqualTo(0.5).Within(0.02));
        var n = D(Tensor.Randn([10000], new Generator(1), DType.Float64, Device));
        Assert.That(n.Average(), Is.EqualTo(0).Within(0.05));
    }

    [Test]
    public void CatAndStack()
    {
        var a = T([1.0, 2.0], [1, 2]);
        var b = T([3.0, 4.0, 5.0, 6.0], [2, 2]);
        Assert.That(D(Tensor.Cat([a, b], 0)), Is.EqualTo(new double[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(Tensor.Stack([a, a], 0).Shape, Is.EqualTo(new[] { 2, 1, 2 }));
        Assert.That(Tensor.Stack([a, a], 2).Shape, Is.EqualTo(new[] { 1, 2, 2 }));
    }

    [Test]
    public void ToStringShowsValuesShapeDtypeAndGradFn()
    {
        // Like PyTorch, the device is printed when it is not the CPU.
        string dev = Device == Device.Cpu ? "" : $", device='{Device}'";
        var x = T([1.0, 2.5, 3.0, 4.0], [2, 2], DType.Float32, requiresGrad: true);
        Assert.That(x.ToString(), Is.EqualTo($"tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]], shape=[2, 2], dtype=float32{dev}, requires_grad=True)"));
        var y = x + x;
        Assert.That(y.ToString(), Does.EndWith($"shape=[2, 2], dtype=float32{dev}, grad_fn=<AddBackward>)"));
        var big = Tensor.Zeros([2000], DType.Float64, Device);
        Assert.That(big.ToString(), Does.StartWith("tensor([0., 0., 0., ..., 0., 0., 0.]"));
        Assert.That(Tensor.Scalar(5, DType.Int64, Device).ToString(), Is.EqualTo($"tensor(5, shape=[], dtype=int64{dev})"));
    }

    [Test]
    public void ToDTypeConvertsAndTruncates()
    {
        var x = T([1.7, -2.7], [2]);
        Assert.That(x.To(DType.Int64).ToArray<long>(), Is.EqualTo(new long[] { 1, -2 }));
        Assert.That(x.To(DType.Float32).ToArray<float>(), Is.EqualTo(new[] { 1.7f, -2.7f }));
    }

    [Test]
    public void ScopeDisposesWhatItCreatedExceptMovedOut()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = MemoryStats.LiveBytes(Device);
        Tensor kept;
        Tensor dropped;
        using (var scope = new TensorScope())
        {
            dropped = Tensor.Ones([1000], DType.Float64, Device);
            var inner = dropped * 2.0;
            kept = scope.MoveOut(inner + 1.0);
        }
        Assert.That(dropped.IsDisposed, Is.True);
        Assert.That(kept.IsDisposed, Is.False);
        Assert.That(D(kept)[0], Is.EqualTo(3.0));
        kept.Dispose();
        Assert.That(MemoryStats.LiveBytes(Device), Is.EqualTo(before));
    }

    [Test]
    public void StorageLivesWhileAViewLives()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = MemoryStats.LiveBytes(Device);
        using (var scope = new TensorScope())
        {
            var x = Tensor.Ones([256], DType.Float64, Device);
            var v = scope.Forget(x.Narrow(0, 0, 10));
            x.Dispose();
            Assert.That(MemoryStats.LiveBytes(Device), Is.EqualTo(before + 256 * 8));
            Assert.That(D(v), Is.All.EqualTo(1));
            v.Dispose();
        }
        Assert.That(MemoryStats.LiveBytes(Device), Is.EqualTo(before));
    }

    [Test]
    public void TrainingLikeLoopInScopesReturnsLiveBytesToStart()
    {
        var w = Tensor.Randn([16, 8], new Generator(3), DType.Float32, Device);
        TensorScope.Current!.Forget(w);
        w.RequiresGrad = true;
        // Let earlier tests' unreachable storages finalize first, so that only this loop moves the counter.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = MemoryStats.LiveBytes(Device);
        for (int i = 0; i < 100; i++)
        {
            using var scope = new TensorScope();
            var x = Tensor.Randn([4, 16], new Generator((ulong)i), DType.Float32, Device);
            var loss = x.Matmul(w).Relu().Mean();
            loss.Backward();
            using (Tensor.NoGrad()) w.SubInPlace(w.Grad!.Mul(0.01));
            w.Grad!.ZeroInPlace();
        }
        long gradBytes = 16 * 8 * 4;
        Assert.That(MemoryStats.LiveBytes(Device), Is.EqualTo(before + gradBytes), "only the leaf's .Grad (created on the first step) may remain");
        w.Grad!.Dispose();
        w.Dispose();
    }

    [Test]
    public void BackendTemporariesOfStridedInputsAreReleased()
    {
        // Reductions over non-trailing dims and softmax of a transposed input pack copies internally;
        // those copies must go back at once, not wait for the garbage collector.
        var w = Tensor.Randn([6, 5, 4], new Generator(8), DType.Float32, Device);
        TensorScope.Current!.Forget(w);
        w.RequiresGrad = true;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = MemoryStats.LiveBytes(Device);
        using (var scope = new TensorScope())
        {
            var t = w.Permute(2, 0, 1);
            var loss = t.Var([0, 2]).Sum() + t.Softmax(1).Max() + t.LogSoftmax(0).Mean();
            loss.Backward();
        }
        Assert.That(MemoryStats.LiveBytes(Device), Is.EqualTo(before + 6 * 5 * 4 * 4), "only w.Grad may remain");
        w.Grad!.Dispose();
        w.Dispose();
    }

    [Test]
    public void UseAfterDisposeFailsClearly()
    {
        var x = Tensor.Ones([2], DType.Float64, Device);
        x.Dispose();
        Assert.Throws<ObjectDisposedException>(() => x.ToArray<double>());
        Assert.That(x.ToString(), Is.EqualTo("tensor(<disposed>)"));
    }
}
