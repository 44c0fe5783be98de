using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// Float64 finite-difference checks of BatchNorm2d and InstanceNorm2d through the modules themselves,
/// for input, weight and bias, in every combination of train/eval x affine x trackRunningStats, on
/// shapes with H*W = 2, N = 1, C = 1 and odd sizes. Also GroupNorm and LayerNorm.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class NormGradCheckTests : BackendTestBase
{
    public NormGradCheckTests(Device device) : base(device) { }

    public static IEnumerable<TestCaseData> Cases()
    {
        int[][] shapes = [[2, 3, 1, 2], [1, 2, 3, 3], [3, 1, 2, 3], [2, 3, 3, 5]];
        foreach (var kind in new[] { "BatchNorm2d", "InstanceNorm2d" })
            foreach (bool training in new[] { true, false })
                foreach (bool affine in new[] { true, false })
                    foreach (bool track in new[] { true, false })
                        foreach (var shape in shapes)
                        {
                            // BatchNorm with N*H*W = 2 would make each channel's two values exactly +-1 (flat gradient); still valid.
                            yield return new TestCaseData(kind, training, affine, track, shape)
                                .SetName($"{kind}_{(training ? "train" : "eval")}_{(affine ? "affine" : "plain")}_{(track ? "track" : "notrack")}_{string.Join("x", shape)}");
                        }
    }

    [TestCaseSource(nameof(Cases))]
    public void ModuleGradientsMatchFiniteDifferences(string kind, bool training, bool affine, bool track, int[] shape)
    {
        int c = shape[1];
        using NormBase module = kind == "BatchNorm2d"
            ? new BatchNorm2d(c, affine: affine, trackRunningStats: track, dtype: DType.Float64, device: Device)
            : new InstanceNorm2d(c, affine: affine, trackRunningStats: track, dtype: DType.Float64, device: Device);
        var g = new Generator(17);
        if (affine)
        {
            using (Tensor.NoGrad())
            {
                module.Weight!.CopyFrom(Randn(g, [c]) * 0.5 + 1.0);
                module.Bias!.CopyFrom(Randn(g, [c]));
            }
        }
        if (track)
        {
            // Non-trivial running statistics for the eval-mode paths.
            using (Tensor.NoGrad())
            {
                module.RunningMean!.CopyFrom(Randn(g, [c]) * 0.3);
                module.RunningVar!.CopyFrom(Randn(g, [c]).Abs() + 0.5);
            }
        }
        module.Train(training);
        var x = Randn(g, shape) * 1.5 + 0.2;
        Func<Tensor, Tensor> forward = kind == "BatchNorm2d" ? ((BatchNorm2d)module).Forward : ((InstanceNorm2d)module).Forward;
        ModuleGradCheck.AssertGradients(module, forward, x, g);
    }

    [Test]
    public void GroupNormAndLayerNormGradients()
    {
        var g = new Generator(5);
        using var gn = new GroupNorm(2, 4, dtype: DType.Float64, device: Device);
        using (Tensor.NoGrad()) { gn.Weight!.CopyFrom(Randn(g, [4])); gn.Bias!.CopyFrom(Randn(g, [4])); }
        ModuleGradCheck.AssertGradients(gn, gn.Forward, Randn(g, [3, 4, 2, 3]), g);
        using var ln = new LayerNorm([3, 5], dtype: DType.Float64, device: Device);
        using (Tensor.NoGrad()) { ln.Weight!.CopyFrom(Randn(g, [3, 5])); ln.Bias!.CopyFrom(Randn(g, [3, 5])); }
        ModuleGradCheck.AssertGradients(ln, ln.Forward, Randn(g, [2, 3, 5]), g);
    }

    [Test]
    public void FunctionalFormsPassGradCheck()
    {
        var g = new Generator(9);
        var x = Randn(g, [2, 3, 4], requiresGrad: true);
        var w = Randn(g, [3], requiresGrad: true);
        var b = Randn(g, [3], requiresGrad: true);
        Assert.That(GradCheck.Check(t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true), [x, w, b]).Passed, Is.True);
        Assert.That(GradCheck.Check(t => F.InstanceNorm(t[0], weight: t[1], bias: t[2]), [x, w, b]).Passed, Is.True);
        Assert.That(GradCheck.Check(t => F.GroupNorm(t[0], 3, t[1], t[2]), [x, w, b]).Passed, Is.True);
    }
}

/// <summary>
/// A gradient check for a module's own parameters: the analytic gradients of sum(f(x) * v) for the
/// input and every parameter against central differences, perturbing the tensors in place.
/// </summary>
internal static class ModuleGradCheck
{
    public static void AssertGradients(Module module, Func<Tensor, Tensor> forward, Tensor input, Generator g, double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4)
    {
        var x = input.Detach().Clone().SetRequiresGrad();
        module.ZeroGrad();
        var y = forward(x);
        var v = Tensor.Randn(y.Shape, g, DType.Float64, y.Device);
        (y * v).Sum().Backward();
        var targets = new List<(string Name, Tensor Tensor, double[] Analytic)> { ("input", x, x.Grad!.ToArray<double>()) };
        foreach (var (name, p) in module.NamedParameters())
            targets.Add((name, p, p.Grad?.ToArray<double>() ?? new double[p.Numel]));
        double Objective()
        {
            using var noGrad = Tensor.NoGrad();
            using var scope = new TensorScope();
            return (forward(x) * v).Sum().Item();
        }
        foreach (var (name, t, analytic) in targets)
        {
            var host = t.ToArray<double>();
            for (int i = 0; i < host.Length; i++)
            {
                double orig = host[i];
                host[i] = orig + eps; Upload(t, host);
                double plus = Objective();
                host[i] = orig - eps; Upload(t, host);
                double minus = Objective();
                host[i] = orig; Upload(t, host);
                double numeric = (plus - minus) / (2 * eps);
                Assert.That(analytic[i], Is.EqualTo(numeric).Within(atol + rtol * Math.Abs(numeric)), $"{name}[{i}]: analytic vs numeric");
            }
        }
    }

    private static void Upload(Tensor t, double[] host)
    {
        using var noGrad = Tensor.NoGrad();
        using var src = Tensor.FromArray(host, t.Shape).To(t.Device);
        t.CopyFrom(src);
    }
}
