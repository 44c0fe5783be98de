using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>Bad arguments to layers and losses fail before any work, with messages naming what was expected and what arrived.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class LayerBadInputTests : BackendTestBase
{
    public LayerBadInputTests(Device device) : base(device) { }

    private static void Throws<TException>(Action code, params string[] fragments) where TException : Exception
    {
        var ex = Assert.Throws<TException>(() => code());
        foreach (var f in fragments) Assert.That(ex!.Message, Does.Contain(f));
    }

    private Tensor Z(params int[] shape) => Tensor.Zeros(shape, DType.Float64, Device);

    [Test]
    public void Conv2dArguments()
    {
        var w = Z(4, 3, 3, 3);
        Throws<ArgumentException>(() => F.Conv2d(Z(5, 5), w), "4D (N, C, H, W) input", "2D input [5, 5]");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 2, 5, 5), w), "[1, 2, 5, 5] has 2 channels", "expects 3 channels");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 4, 5, 5), w, groups: 2), "groups=2 expects 6 channels", "has 4 channels");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 3, 2, 5), w), "kernel size 3x3", "padded input 2x5");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 3, 4, 4), w, dilation: 2), "dilated 5x5", "padded input 4x4");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 3, 5, 5), w, Z(3)), "bias of shape [4]", "got [3]");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 3, 5, 5), w, stride: 0), "positive stride", "(0, 0)");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 3, 5, 5), Z(4, 3, 3)), "4D weight", "[4, 3, 3]");
        Throws<ArgumentException>(() => F.Conv2d(Z(1, 3, 5, 5), Tensor.Zeros([4, 3, 3, 3], DType.Float32, Device)), "float64", "float32");
        Throws<ArgumentException>(() => new Conv2d(3, 4, 3, groups: 2), "inChannels (3)", "groups (2)");
    }

    [Test]
    public void PoolingArguments()
    {
        Throws<ArgumentException>(() => F.MaxPool2d(Z(2, 1, 5, 5, 1), 2), "4D (N, C, H, W) input", "5D input [2, 1, 5, 5, 1]");
        Throws<ArgumentException>(() => F.MaxPool2d(Z(1, 1, 2, 2), 3), "larger than the padded input", "[1, 1, 2, 2]");
        Throws<ArgumentException>(() => F.AvgPool2d(Z(1, 1, 5, 5), 3, padding: 2), "half the kernel size", "padding (2, 2)");
        Throws<ArgumentException>(() => F.AvgPool2d(Z(1, 1, 5, 5), 2, divisorOverride: 0), "positive divisorOverride", "got 0");
        Throws<ArgumentException>(() => F.AdaptiveAvgPool2d(Z(1, 1, 5, 5), 0), "positive output size", "(0, 0)");
        Throws<ArgumentException>(() => F.AdaptiveAvgPool2d(Z(1, 1, 0, 5), 2), "non-empty spatial", "[1, 1, 0, 5]");
    }

    [Test]
    public void LinearArguments()
    {
        Throws<ArgumentException>(() => F.Linear(Z(4, 6), Z(3, 5)), "must have 5 features", "[4, 6]", "got 6");
        Throws<ArgumentException>(() => F.Linear(Z(4, 5), Z(3, 5), Z(4)), "bias of shape [3]", "got [4]");
        Throws<ArgumentException>(() => F.Linear(Z(4, 5), Z(15)), "2D weight", "[15]");
    }

    [Test]
    public void LossArguments()
    {
        var logits = Z(3, 4);
        Tensor Labels(params long[] v) => Tensor.FromArray(v, null, Device);
        Throws<ArgumentOutOfRangeException>(() => F.CrossEntropy(logits, Labels(0, 4, 1)), "target 4 at position 1", "4 classes", "0 <= target < 4");
        Throws<ArgumentOutOfRangeException>(() => F.NllLoss(logits, Labels(-1, 0, 1)), "target -1 at position 0", "4 classes");
        Throws<ArgumentException>(() => F.CrossEntropy(logits, Z(3)), "int64", "float64");
        Throws<ArgumentException>(() => F.CrossEntropy(logits, Labels(0, 1)), "targets of shape [3]", "got [2]");
        Throws<ArgumentException>(() => F.CrossEntropy(Z(3, 4, 2), Labels(0, 1, 2)), "2D input (N, C)", "3D input [3, 4, 2]");
        Throws<ArgumentException>(() => F.CrossEntropy(logits, Labels(0, 1, 2), labelSmoothing: 1.5), "labelSmoothing in [0, 1]", "1.5");
        Throws<ArgumentException>(() => F.MseLoss(Z(3, 4), Z(4, 3)), "same shape", "[3, 4]", "[4, 3]");
        Throws<ArgumentOutOfRangeException>(() => F.MseLoss(Z(3), Z(3), (Reduction)7), "Mean, Sum or None");
    }

    [Test]
    public void GatherAndDropoutArguments()
    {
        var x = Z(3, 4);
        Throws<ArgumentOutOfRangeException>(() => x.Gather(1, Tensor.FromArray(new long[] { 0, 4, 1 }, [3, 1], Device)), "index 4", "dim 1 with size 4");
        Throws<ArgumentException>(() => x.Gather(1, Tensor.FromArray(new long[] { 0, 1, 1 }, [3], Device)), "same number of dims", "1D index [3]");
        Throws<ArgumentException>(() => x.Gather(1, Z(3, 1)), "int64 index", "float64");
        Throws<ArgumentException>(() => x.Gather(0, Tensor.Zeros([1, 5], DType.Int64, Device)), "index size 5 in dim 1", "size 4");
        Throws<ArgumentException>(() => F.Dropout(x, 1.5, true, new Generator(0)), "p in [0, 1]", "1.5");
        Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.1), "p in [0, 1]", "-0.1");
    }
}
