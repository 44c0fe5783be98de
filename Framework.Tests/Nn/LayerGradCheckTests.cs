using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// Float64 finite-difference checks of every new op (functional forms, all inputs) and of the layers
/// through their own parameters (<see cref="ModuleGradCheck"/>), on small odd shapes.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class LayerGradCheckTests : BackendTestBase
{
    public LayerGradCheckTests(Device device) : base(device) { }

    private static Tensor Targets(Device device, params long[] values) => Tensor.FromArray(values, null, device);

    private static readonly (string Name, int[][] Shapes, Func<Tensor[], Tensor> F)[] s_cases =
    [
        ("conv_basic", [[2, 3, 5, 4], [4, 3, 3, 3], [4]], x => F.Conv2d(x[0], x[1], x[2])),
        ("conv_stride2_pad1", [[2, 2, 6, 5], [3, 2, 3, 3], [3]], x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1)),
        ("conv_dilation2", [[1, 2, 7, 6], [2, 2, 3, 2], [2]], x => F.Conv2d(x[0], x[1], x[2], padding: 1, dilation: 2)),
        ("conv_groups", [[2, 4, 4, 5], [6, 2, 3, 3], [6]], x => F.Conv2d(x[0], x[1], x[2], padding: 1, groups: 2)),
        ("conv_rect_nobias", [[1, 3, 6, 7], [2, 3, 2, 3]], x => F.Conv2d(x[0], x[1], null, (2, 1), (1, 2), (2, 1))),
        ("conv_1x1", [[2, 3, 3, 2], [4, 3, 1, 1], [4]], x => F.Conv2d(x[0], x[1], x[2])),
        ("conv_1x1_stride2_pad1", [[1, 3, 4, 5], [2, 3, 1, 1], [2]], x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1)),
        ("maxpool_k3_s2_p1", [[2, 2, 7, 5]], x => F.MaxPool2d(x[0], 3, 2, 1)),
        ("maxpool_ceil_dil", [[1, 2, 8, 7]], x => F.MaxPool2d(x[0], 2, 2, 0, dilation: 2, ceilMode: true)),
        ("avgpool_pad", [[2, 2, 5, 7]], x => F.AvgPool2d(x[0], 3, 2, 1)),
        ("avgpool_nopad_ceil", [[1, 2, 6, 5]], x => F.AvgPool2d(x[0], 3, 2, 1, ceilMode: true, countIncludePad: false)),
        ("avgpool_divisor", [[1, 1, 4, 5]], x => F.AvgPool2d(x[0], 2, 1, divisorOverride: 3)),
        ("adaptive", [[2, 2, 7, 5]], x => F.AdaptiveAvgPool2d(x[0], (3, 2))),
        ("linear", [[4, 5], [3, 5], [3]], x => F.Linear(x[0], x[1], x[2])),
        ("linear_3d_transposed_input", [[5, 2, 3], [4, 5]], x => F.Linear(x[0].Permute(1, 2, 0), x[1])),
        ("ce_mean", [[4, 5]], x => F.CrossEntropy(x[0], Targets(x[0].Device, 0, 4, 2, 2))),
        ("ce_sum_smooth", [[4, 5]], x => F.CrossEntropy(x[0], Targets(x[0].Device, 1, 3, 0, 4), Reduction.Sum, 0.3)),
        ("ce_none_smooth", [[3, 4]], x => F.CrossEntropy(x[0], Targets(x[0].Device, 3, 3, 1), Reduction.None, 0.1)),
        ("nll", [[4, 3]], x => F.NllLoss(x[0].LogSoftmax(1), Targets(x[0].Device, 2, 0, 1, 2))),
        ("mse", [[3, 4], [3, 4]], x => F.MseLoss(x[0], x[1])),
        ("mse_none", [[5], [5]], x => F.MseLoss(x[0], x[1], Reduction.None)),
        ("gather", [[3, 4, 2]], x => x[0].Gather(1, Tensor.FromArray(new long[] { 0, 3, 3, 1, 2, 2, 0, 0, 1, 1, 3, 2 }, [3, 2, 2], x[0].Device))),
        ("scatter_add", [[3, 4], [3, 2]], x => x[0].ScatterAdd(1, Tensor.FromArray(new long[] { 0, 0, 3, 1, 2, 2 }, [3, 2], x[0].Device), x[1])),
        ("dropout", [[4, 6]], x => F.Dropout(x[0], 0.4, training: true, new Generator(3))),
    ];

    public static IEnumerable<string> Names() => s_cases.Select(c => c.Name);

    [TestCaseSource(nameof(Names))]
    public void GradientMatchesFiniteDifferences(string name)
    {
        var c = s_cases.First(x => x.Name == name);
        var g = new Generator(11);
        var inputs = c.Shapes.Select(s => Randn(g, s, requiresGrad: true)).ToArray();
        var result = GradCheck.Check(c.F, inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void Conv2dModuleGradients()
    {
        var g = new Generator(2);
        using var conv = new Conv2d(4, 6, 3, stride: 2, padding: 1, groups: 2, generator: g, dtype: DType.Float64, device: Device);
        ModuleGradCheck.AssertGradients(conv, conv.Forward, Randn(g, [2, 4, 5, 6]), g);
    }

    [Test]
    public void LinearModuleGradients()
    {
        var g = new Generator(3);
        using var linear = new Linear(5, 3, generator: g, dtype: DType.Float64, device: Device);
        ModuleGradCheck.AssertGradients(linear, linear.Forward, Randn(g, [2, 3, 5]), g);
    }

    [Test]
    public void SmallCnnGradients()
    {
        // Conv -> BatchNorm -> ReLU -> MaxPool -> InstanceNorm -> AvgPool -> Flatten -> Linear -> Tanh, through Sequential.
        var g = new Generator(4);
        using var net = new Sequential(
            new Conv2d(2, 3, 3, padding: 1, generator: g, dtype: DType.Float64, device: Device),
            new BatchNorm2d(3, dtype: DType.Float64, device: Device),
            new LeakyReLU(0.1),
            new MaxPool2d(2),
            new InstanceNorm2d(3, affine: true, dtype: DType.Float64, device: Device),
            new AdaptiveAvgPool2d((2, 1)),
            new Flatten(),
            new Linear(6, 4, generator: g, dtype: DType.Float64, device: Device),
            new Sigmoid(),
            new Tanh());
        net.Eval(); // running statistics fixed, so repeated forwards in the check see one function
        ModuleGradCheck.AssertGradients(net, net.Forward, Randn(g, [2, 2, 6, 5]), g);
    }
}
