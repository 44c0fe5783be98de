using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// What the layers promise beyond their values: PyTorch's initialisation bounds and seeding, state-dict
/// keys of Sequential, train/eval of Dropout, the batch-parallel conv path agreeing with the serial one,
/// and im2col/col2im being adjoint.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class LayerBehaviourTests : BackendTestBase
{
    public LayerBehaviourTests(Device device) : base(device) { }

    [Test]
    public void ConvAndLinearInitialiseWithinPyTorchBounds()
    {
        using var conv = new Conv2d(8, 16, 3, groups: 2, generator: new Generator(1), device: Device);
        double bound = 1 / Math.Sqrt(8 / 2 * 9); // fan_in = in/groups * KH * KW
        var w = D(conv.Weight);
        Assert.That(conv.Weight.Shape, Is.EqualTo(new[] { 16, 4, 3, 3 }));
        Assert.That(w.Max(), Is.LessThanOrEqualTo(bound).And.GreaterThan(0.9 * bound));
        Assert.That(w.Min(), Is.GreaterThanOrEqualTo(-bound).And.LessThan(-0.9 * bound));
        // U(-b, b) has standard deviation b / sqrt(3); 576 samples put the estimate within ~10%.
        double std = Math.Sqrt(w.Select(v => v * v).Average());
        Assert.That(std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.1 * bound));
        Assert.That(D(conv.Bias!).All(v => Math.Abs(v) <= bound), Is.True);

        using var linear = new Linear(50, 7, generator: new Generator(1), device: Device);
        Assert.That(D(linear.Weight).All(v => Math.Abs(v) <= 1 / Math.Sqrt(50)), Is.True);
        Assert.That(linear.Bias!.Shape, Is.EqualTo(new[] { 7 }));
    }

    [Test]
    public void InitialisationIsSeeded()
    {
        using var a = new Linear(4, 3, generator: new Generator(5), device: Device);
        using var b = new Linear(4, 3, generator: new Generator(5), device: Device);
        Assert.That(D(a.Weight), Is.EqualTo(D(b.Weight)));
        var shared = new Generator(5);
        using var c = new Linear(4, 3, generator: shared, device: Device);
        using var d = new Linear(4, 3, generator: shared, device: Device);
        Assert.That(D(c.Weight), Is.EqualTo(D(a.Weight)));
        Assert.That(D(d.Weight), Is.Not.EqualTo(D(c.Weight)), "a shared generator gives each layer its own draw");
        using var noBias = new Conv2d(2, 2, 1, bias: false, device: Device);
        Assert.That(noBias.Bias, Is.Null);
        Assert.That(noBias.Parameters().Count(), Is.EqualTo(1));
    }

    [Test]
    public void SequentialUsesPyTorchStateDictKeys()
    {
        using var net = new Sequential(new Conv2d(1, 2, 3, device: Device), new BatchNorm2d(2, device: Device), new ReLU(),
            new Flatten(), new Linear(8, 3, device: Device));
        Assert.That(net.StateDict().Keys, Is.EquivalentTo(new[]
        {
            "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias",
        }));
        Assert.That(net.Parameters().Count(), Is.EqualTo(6));
        Assert.That(net.Count, Is.EqualTo(5));
        Assert.That(net[2], Is.InstanceOf<ReLU>());
        var y = net.Forward(Tensor.Zeros([2, 1, 4, 4], DType.Float32, Device));
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3 }));
        net.Eval();
        Assert.That(net[1].Training, Is.False);
        Assert.Throws<ArgumentException>(() => net.Append(net[0]));
    }

    [Test]
    public void DropoutRespectsTrainAndEval()
    {
        using var dropout = new Dropout(0.25, new Generator(9));
        var x = Tensor.Ones([4000], DType.Float64, Device);
        var y = D(dropout.Forward(x));
        int zeros = y.Count(v => v == 0);
        Assert.That(zeros, Is.InRange(850, 1150), "about p of the elements are dropped");
        Assert.That(y.Where(v => v != 0).All(v => Math.Abs(v - 1 / 0.75) < 1e-12), Is.True, "survivors are scaled by 1/(1-p)");
        dropout.Eval();
        Assert.That(dropout.Forward(x), Is.SameAs(x));
        Assert.That(D(F.Dropout(x, 1, true, new Generator(0))).All(v => v == 0), Is.True);
        Assert.That(D(F.Dropout(x, 0.5, true, new Generator(3))), Is.EqualTo(D(F.Dropout(x, 0.5, true, new Generator(3)))));
    }

    [Test]
    public void FlattenKeepsTheBatchDim()
    {
        var x = Tensor.Zeros([2, 3, 4, 5], DType.Float32, Device);
        Assert.That(new Flatten().Forward(x).Shape, Is.EqualTo(new[] { 2, 60 }));
        Assert.That(new Flatten(2).Forward(x).Shape, Is.EqualTo(new[] { 2, 3, 20 }));
        Assert.That(new Flatten(0, 1).Forward(x).Shape, Is.EqualTo(new[] { 6, 4, 5 }));
    }

    [Test]
    public void BatchParallelConvMatchesOneSampleAtATime()
    {
        // N = 4 and 2.4M multiply-adds take the chunked parallel path on 2+ cores; N = 1 runs serially.
        var g = new Generator(21);
        var x = Randn(g, [4, 8, 32, 32], requiresGrad: true);
        var w = Randn(g, [16, 4, 3, 3], requiresGrad: true);
        var b = Randn(g, [16], requiresGrad: true);
        var v = Randn(g, [4, 16, 32, 32]);
        var y = F.Conv2d(x, w, b, stride: 1, padding: 1, groups: 2);
        (y * v).Sum().Backward();
        var dw = D(w.Grad!);
        var db = D(b.Grad!);
        var dx = D(x.Grad!);
        w.Grad = null;
        b.Grad = null;
        var ys = new List<double>();
        var dxs = new List<double>();
        for (int i = 0; i < 4; i++)
        {
            var xi = x[i].Unsqueeze(0).Detach().SetRequiresGrad();
            var yi = F.Conv2d(xi, w, b, stride: 1, padding: 1, groups: 2);
            (yi * v[i].Unsqueeze(0)).Sum().Backward();
            ys.AddRange(D(yi));
            dxs.AddRange(D(xi.Grad!));
        }
        AssertClose(D(y), [.. ys], 1e-12, 1e-12, "output");
        AssertClose(dx, [.. dxs], 1e-12, 1e-12, "input gradient");
        AssertClose(dw, D(w.Grad!), 1e-10, 1e-10, "weight gradient");
        AssertClose(db, D(b.Grad!), 1e-10, 1e-10, "bias gradient");
    }

    [Test]
    public void ParallelPoolingAndIndexingMatchTheSerialPaths()
    {
        // [4, 16, 64, 64] pools plane-parallel and its max-pool backward scatters row-parallel (65536 outputs, the
        // parallel threshold); single planes run serially. Results must agree exactly.
        var g = new Generator(30);
        var x = Randn(g, [4, 16, 64, 64], requiresGrad: true);
        var ym = F.MaxPool2d(x, 3, 2, 1);
        var ya = F.AvgPool2d(x, 3, 2, 1, countIncludePad: false);
        var vm = Randn(g, ym.Shape);
        var va = Randn(g, ya.Shape);
        ((ym * vm).Sum() + (ya * va).Sum()).Backward();
        foreach (var (n, c) in new[] { (0, 0), (1, 5), (3, 15) })
        {
            var xp = x.Detach().Narrow(0, n, 1).Narrow(1, c, 1).Clone().SetRequiresGrad();
            var pm = F.MaxPool2d(xp, 3, 2, 1);
            var pa = F.AvgPool2d(xp, 3, 2, 1, countIncludePad: false);
            var wm = vm.Narrow(0, n, 1).Narrow(1, c, 1);
            var wa = va.Narrow(0, n, 1).Narrow(1, c, 1);
            ((pm * wm).Sum() + (pa * wa).Sum()).Backward();
            AssertClose(D(pm), D(ym.Narrow(0, n, 1).Narrow(1, c, 1)), 0, 0, $"max plane ({n}, {c})");
            AssertClose(D(pa), D(ya.Narrow(0, n, 1).Narrow(1, c, 1)), 0, 0, $"avg plane ({n}, {c})");
            AssertClose(D(xp.Grad!), D(x.Grad!.Narrow(0, n, 1).Narrow(1, c, 1)), 1e-15, 1e-15, $"grad plane ({n}, {c})");
        }

        // Gather / scatter-add over 300 rows of 300: row-parallel against a host loop.
        var src = Randn(g, [300, 300], requiresGrad: true);
        var idxHost = new long[300 * 300];
        for (int i = 0; i < idxHost.Length; i++) idxHost[i] = (i * 7919L) % 300;
        var idx = Tensor.FromArray(idxHost, [300, 300], Device);
        var gathered = D(src.Gather(1, idx));
        var host = D(src);
        for (int r = 0; r < 300; r += 37)
            for (int j = 0; j < 300; j++)
                Assert.That(gathered[r * 300 + j], Is.EqualTo(host[r * 300 + idxHost[r * 300 + j]]));
        src.Gather(1, idx).Sum().Backward();
        var counts = D(src.Grad!);
        var expected = new double[300 * 300];
        foreach (var (v, i) in idxHost.Select((v, i) => (v, i))) expected[i / 300 * 300 + v] += 1;
        Assert.That(counts, Is.EqualTo(expected));
    }

    [Test]
    public void Im2ColAndCol2ImAreAdjoint()
    {
        // <im2col(x), c> == <x, col2im(c)> for every geometry: col2im sums exactly what im2col copied.
        var g = new Generator(8);
        var geo = new Backends.Conv2dGeometry(2, 3, 7, 6, 4, 3, 2, 2, 1, 1, 2, 2, 1, 1);
        var x = Randn(g, [2, 3, 7, 6]);
        var c = Randn(g, [2, geo.ColRows, geo.ColCols]);
        var cols = Tensor.Empty([2, geo.ColRows, geo.ColCols], DType.Float64, Device);
        x.Backend.Im2Col(x, cols, geo);
        var back = Tensor.Empty([2, 3, 7, 6], DType.Float64, Device);
        x.Backend.Col2Im(c, back, geo);
        double lhs = D(cols).Zip(D(c), (a, b) => a * b).Sum();
        double rhs = D(x).Zip(D(back), (a, b) => a * b).Sum();
        Assert.That(lhs, Is.EqualTo(rhs).Within(1e-10 * Math.Abs(rhs) + 1e-12));
        // Spot values of row (c=0, kh=1, kw=1): column (oh=0, ow=0) reads column 0*1 - 2 + 1*1 = -1, the padding, so 0;
        // column (oh=1, ow=2) reads x[0, 0, 1*2 - 1 + 1*2, 2*1 - 2 + 1*1] = x[0, 0, 3, 1].
        var colsHost = D(cols);
        int row = (0 * 3 + 1) * 2 + 1;
        Assert.That(colsHost[row * geo.ColCols + 0], Is.EqualTo(0));
        Assert.That(colsHost[row * geo.ColCols + 1 * geo.OW + 2], Is.EqualTo(D(x)[3 * 6 + 1]));
    }

    [Test]
    public void InputWithoutGradStillGivesParameterGradients()
    {
        var g = new Generator(6);
        var x = Randn(g, [2, 3, 5, 5]);
        using var conv = new Conv2d(3, 2, 3, generator: g, dtype: DType.Float64, device: Device);
        conv.Forward(x).Sum().Backward();
        Assert.That(conv.Weight.Grad, Is.Not.Null);
        Assert.That(conv.Bias!.Grad, Is.Not.Null);
        // Each bias gradient is the number of output positions: 2 samples x 3 x 3.
        Assert.That(D(conv.Bias.Grad!), Is.EqualTo(new[] { 18.0, 18.0 }));
    }

    [Test]
    public void MaxPoolRoutesTiesToTheFirstMaximumAndPropagatesNaN()
    {
        // One 2x2 window of equal values: the whole gradient goes to the first (row-major) position.
        var x = T([5, 5, 5, 5, 1, 2, 3, 4], [1, 2, 2, 2], requiresGrad: true);
        var y = F.MaxPool2d(x, 2);
        Assert.That(D(y), Is.EqualTo(new[] { 5.0, 4.0 }));
        y.Sum().Backward();
        Assert.That(D(x.Grad!), Is.EqualTo(new[] { 1.0, 0, 0, 0, 0, 0, 0, 1 }));
        var withNaN = T([1, double.NaN, 3, 2], [1, 1, 2, 2]);
        Assert.That(double.IsNaN(D(F.MaxPool2d(withNaN, 2))[0]), Is.True);
    }

    [Test]
    public void LossReductionsHaveTheRightShapes()
    {
        var logits = T(new double[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var target = Tensor.FromArray(new long[] { 2, 0 }, null, Device);
        Assert.That(F.CrossEntropy(logits, target, Reduction.None).Shape, Is.EqualTo(new[] { 2 }));
        Assert.That(F.CrossEntropy(logits, target).Shape, Is.Empty);
        using var loss = new CrossEntropyLoss(Reduction.Sum);
        double sum = loss.Forward(logits, target).Item();
        double mean = new CrossEntropyLoss().Forward(logits, target).Item();
        Assert.That(sum, Is.EqualTo(2 * mean).Within(1e-12));
        // Row 0 targets its largest logit: -log softmax = log(1 + e^-1 + e^-2).
        Assert.That(D(F.CrossEntropy(logits, target, Reduction.None))[0], Is.EqualTo(Math.Log(1 + Math.Exp(-1) + Math.Exp(-2))).Within(1e-12));
        Assert.That(new MseLoss(Reduction.None).Forward(logits, logits).Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(new NllLoss().Forward(logits.LogSoftmax(1), target).Item(), Is.EqualTo(mean).Within(1e-12));
    }

    [Test]
    public void UnbatchedInputsWorkAsABatchOfOne()
    {
        var g = new Generator(12);
        var x = Randn(g, [3, 6, 5], requiresGrad: true);
        var w = Randn(g, [2, 3, 3, 3]);
        var y = F.Conv2d(x, w, padding: 1);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 6, 5 }));
        AssertClose(D(y), D(F.Conv2d(x.Unsqueeze(0), w, padding: 1)), 0, 0, "conv");
        Assert.That(F.MaxPool2d(x, 2).Shape, Is.EqualTo(new[] { 3, 3, 2 }));
        Assert.That(F.AvgPool2d(x, 3, 1, 1).Shape, Is.EqualTo(new[] { 3, 6, 5 }));
        Assert.That(F.AdaptiveAvgPool2d(x, 1).Shape, Is.EqualTo(new[] { 3, 1, 1 }));
        y.Sum().Backward();
        Assert.That(x.Grad!.Shape, Is.EqualTo(new[] { 3, 6, 5 }));
    }

    [Test]
    public void EmptyBatchesGiveEmptyOutputsAndZeroParameterGradients()
    {
        using var conv = new Conv2d(2, 3, 3, padding: 1, dtype: DType.Float64, device: Device);
        var x = Tensor.Zeros([0, 2, 4, 4], DType.Float64, Device);
        var y = conv.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 0, 3, 4, 4 }));
        y.Sum().Backward();
        Assert.That(D(conv.Weight.Grad!).All(v => v == 0), Is.True);
        Assert.That(F.MaxPool2d(x, 2).Shape, Is.EqualTo(new[] { 0, 2, 2, 2 }));
    }
}
