using Framework.Autograd;
using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests;

/// <summary>
/// Issue 10, item 2: the tensors a forward saved for backward go back when the forward's tensors
/// are disposed (by hand or by their scope), whether or not Backward ran, with no garbage
/// collection in between; a graph whose output was moved out of its scope stays usable.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class GraphLifetimeTests : BackendTestBase
{
    public GraphLifetimeTests(Device device) : base(device) { }

    /// <summary>
    /// Forward-only steps run per loop. The CPU runs the figure (2,000 steps left 38,015 live
    /// tensors); the emulator runs every kernel in an interpreter, so it does 20 (the issue measured +5
    /// storages per step there, so any leak is a 100-storage difference).
    /// </summary>
    private int Steps => Device.Type switch
    {
        DeviceType.Cpu => 2000,
        DeviceType.CudaEmulated => 20,
        _ => 200,
    };

    private Sequential Model() =>
        new(
            new Conv2d(1, 4, 3, padding: 1, generator: new Generator(1), device: Device),
            new BatchNorm2d(4, device: Device),
            new ReLU(),
            new MaxPool2d(2),
            new Flatten(),
            new Linear(16, 3, generator: new Generator(2), device: Device));

    private (Tensor X, Tensor Y) Batch(long badLabel = -1)
    {
        var x = Tensor.Randn([2, 1, 4, 4], new Generator(3), DType.Float32, Device);
        var y = Tensor.FromArray(new long[] { 1, badLabel >= 0 ? badLabel : 2 }, [2], Device);
        TensorScope.Current!.Forget(x);
        TensorScope.Current!.Forget(y);
        return (x, y);
    }

    private (long Tensors, long Storages) Live() => (MemoryStats.LiveTensors(Device), MemoryStats.LiveStorages(Device));

    /// <summary>Runs <paramref name="step"/> once to create whatever lives for good (gradients), then <see cref="Steps"/> times, and checks nothing grew.</summary>
    private void AssertFlat(Action step, string what)
    {
        step();
        // Only earlier tests' unreachable host storages are finalized here, so that the finalizer
        // cannot move the counters during the loop; the loop itself gets no collection.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Live();
        for (int i = 0; i < Steps; i++) step();
        var after = Live();
        Assert.That(after.Tensors, Is.EqualTo(before.Tensors), $"{what}: live tensors after {Steps} steps (before {before.Tensors})");
        Assert.That(after.Storages, Is.EqualTo(before.Storages), $"{what}: live storages after {Steps} steps (before {before.Storages})");
    }

    [Test]
    public void EvaluationLoopWithoutBackwardStaysFlat()
    {
        var model = Model();
        var (x, y) = Batch();
        AssertFlat(() =>
        {
            using var scope = new TensorScope();
            var loss = F.CrossEntropy(model.Forward(x), y);
            Assert.That(double.IsFinite(loss.Item()));
        }, "forward only");
        model.Dispose();
        x.Dispose();
        y.Dispose();
    }

    [Test]
    public void LossThatThrowsLeavesNothingAlive()
    {
        var model = Model();
        var (x, y) = Batch(badLabel: 7);
        AssertFlat(() =>
        {
            using var scope = new TensorScope();
            var logits = model.Forward(x);
            Assert.Catch<ArgumentException>(() => F.CrossEntropy(logits, y));
        }, "loss that throws");
        model.Dispose();
        x.Dispose();
        y.Dispose();
    }

    [Test]
    public void RetainGraphWithoutSecondBackwardStaysFlat()
    {
        var model = Model();
        var (x, y) = Batch();
        AssertFlat(() =>
        {
            using var scope = new TensorScope();
            var loss = F.CrossEntropy(model.Forward(x), y);
            loss.Backward(retainGraph: true);
        }, "retainGraph: true");
        model.Dispose();
        x.Dispose();
        y.Dispose();
    }

    [Test]
    public void NodesOfAClosedScopeAreReleased()
    {
        var w = Randn(new Generator(4), [3], requiresGrad: true);
        TensorScope.Current!.Forget(w);
        Node fn;
        using (new TensorScope())
        {
            var loss = (w * w).Relu().Sum();
            fn = loss.GradFn!;
            Assert.That(fn.IsReleased, Is.False);
        }
        Assert.That(fn.IsReleased, Is.True, "the scope disposed the loss, so its graph freed what it saved");
        w.Dispose();
    }

    [Test]
    public void LossMovedOutOfItsScopeCanStillBackward()
    {
        var w = Randn(new Generator(5), [4], requiresGrad: true);
        TensorScope.Current!.Forget(w);
        double[] wv = D(w);
        var before = Live();
        Tensor loss;
        using (var scope = new TensorScope())
        {
            var h = (w * w).Relu();
            var s = h.Sum();
            loss = scope.MoveOut(s * 3.0);
        }
        loss.Backward();
        double[] grad;
        using (new TensorScope()) grad = D(w.Grad!);
        AssertClose(grad, wv.Select(v => v == 0 ? 0 : 6 * v).ToArray(), 1e-12, 1e-12, "d(3 sum relu(w^2))/dw");
        loss.Dispose();
        w.Grad!.Dispose();
        Assert.That(Live(), Is.EqualTo(before), "after the moved-out loss is disposed, only what existed before remains");
        w.Dispose();
    }

    [Test]
    public void DisposedIntermediateStaysInTheGraphOfALiveOutput()
    {
        var w = Randn(new Generator(6), [5], requiresGrad: true);
        TensorScope.Current!.Forget(w);
        var h = TensorScope.Current!.Forget(w * 2.0);
        var loss = TensorScope.Current!.Forget((h * h).Sum());
        h.Dispose();
        loss.Backward();
        AssertClose(D(w.Grad!), D(w).Select(v => 8 * v).ToArray(), 1e-12, 1e-12, "d(sum (2w)^2)/dw");
        loss.Dispose();
        w.Grad!.Dispose();
        w.Dispose();
    }

    [Test]
    public void ReleasingALongChainDoesNotOverflowTheStack()
    {
        var w = Randn(new Generator(7), [1], requiresGrad: true);
        TensorScope.Current!.Forget(w);
        var before = Live();
        Node first;
        using (new TensorScope())
        {
            var y = w + 1.0;
            first = y.GradFn!;
            // Disposed in creation order, each node is still held by the next one until the last
            // output goes, which then releases the whole chain at once.
            for (int i = 0; i < 20_000; i++) y = y + 1.0;
        }
        Assert.That(first.IsReleased, Is.True);
        Assert.That(Live(), Is.EqualTo(before));
        w.Dispose();
    }
}
