using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Properties;

/// <summary>Regression tests for the bugs the property tests found (each as the shrunk case they printed).</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class PropertyFindingsTests : BackendTestBase
{
    public PropertyFindingsTests(Device device) : base(device) { }

    /// <summary>torch.matmul of two vectors is their dot product (a 0-d tensor); it threw from Squeeze(-2).</summary>
    [Test]
    public void MatmulOfTwoVectorsIsTheirDotProduct()
    {
        var a = T([1.0, 2.0, 3.0], [3], requiresGrad: true);
        var b = T([4.0, -5.0, 0.5], [3], requiresGrad: true);
        var y = a.Matmul(b);
        Assert.That(y.Shape, Is.Empty);
        Assert.That(y.Item(), Is.EqualTo(4.0 - 10.0 + 1.5));
        y.Backward();
        Assert.That(D(a.Grad!), Is.EqualTo(new[] { 4.0, -5.0, 0.5 }));
        Assert.That(D(b.Grad!), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
        var empty = T(Array.Empty<double>(), [0]).Matmul(T(Array.Empty<double>(), [0]));
        Assert.That(empty.Shape, Is.Empty);
        Assert.That(empty.Item(), Is.EqualTo(0.0));
    }

    /// <summary>
    /// -0 and +0 compare equal, so max/min/argmax return the first of them (PyTorch); the CPU backend used
    /// IEEE 754 maximum/minimum, which order -0 below +0, and picked a later +0 (and sent the gradient there).
    /// </summary>
    [TestCase(DType.Float32), TestCase(DType.Float64)]
    public void SignedZerosTieAndTheFirstWins(DType dtype)
    {
        var x = T([-0.0, 0.0, -1.0, 0.0, -0.0, -2.0], [2, 3], dtype, requiresGrad: true);
        var (values, indices) = x.Max(1);
        Assert.That(indices.ToArray<long>(), Is.EqualTo(new long[] { 0, 0 }));
        Assert.That(double.IsNegative(D(values)[0]), Is.True, "the first occurrence is -0");
        Assert.That(x.ArgMax(1).ToArray<long>(), Is.EqualTo(new long[] { 0, 0 }));
        var (_, minAt) = T([0.0, -0.0, 1.0], [3], dtype).Min(0);
        Assert.That(minAt.Item<long>(), Is.EqualTo(0L));
        values.Sum().Backward();
        Assert.That(D(x.Grad!), Is.EqualTo(new[] { 1.0, 0, 0, 1, 0, 0 }));
    }

    /// <summary>A norm module on an empty batch returns an empty tensor that is part of the graph, so backward runs (PyTorch).</summary>
    [Test]
    public void NormOnAnEmptyBatchJoinsTheGraph()
    {
        foreach (NormBase norm in new NormBase[] { new BatchNorm2d(2, dtype: DType.Float64, device: Device), new InstanceNorm2d(2, dtype: DType.Float64, device: Device) })
        {
            var x = Tensor.Zeros([0, 2, 3, 3], DType.Float64, Device).SetRequiresGrad();
            var y = norm.Forward(x);
            Assert.That(y.Shape, Is.EqualTo(new[] { 0, 2, 3, 3 }));
            Assert.That(y.RequiresGrad, Is.True, norm.ToString());
            y.Sum().Backward();
            Assert.That(x.Grad!.Shape, Is.EqualTo(new[] { 0, 2, 3, 3 }));
        }
        var e = Tensor.Zeros([2, 0, 4], DType.Float64, Device).SetRequiresGrad();
        F.LayerNorm(e, [4]).Sum().Backward();
        Assert.That(e.Grad!.Shape, Is.EqualTo(new[] { 2, 0, 4 }));
    }

    /// <summary>
    /// A dilated max-pool window whose taps all fall in the padding had an argmax outside its plane; the
    /// backward then scatter-added past the gradient's end (the test host died of heap corruption). Refused now.
    /// </summary>
    [Test]
    public void MaxPoolWindowWhollyInThePaddingIsRefused()
    {
        var x = T([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 2, 1, 3], requiresGrad: true);
        var e = Assert.Throws<ArgumentException>(() => F.MaxPool2d(x, 2, stride: 1, padding: 1, dilation: 2))!;
        Assert.That(e.Message, Does.Contain("wholly in the padding"));
        // The same kernel on an input tall enough for every window is fine, and its gradient stays in place.
        var tall = T(Enumerable.Range(0, 9).Select(i => (double)i).ToArray(), [1, 1, 3, 3], requiresGrad: true);
        var y = F.MaxPool2d(tall, 2, stride: 1, padding: 1, dilation: 2);
        Assert.That(y.Shape, Is.EqualTo(new[] { 1, 1, 3, 3 }));
        y.Sum().Backward();
        Assert.That(D(tall.Grad!).Sum(), Is.EqualTo(9.0));
    }
}
