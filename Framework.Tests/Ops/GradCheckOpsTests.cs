using NUnit.Framework;

namespace Framework.Tests.Ops;

/// <summary>Float64 finite-difference checks of every differentiable op, including broadcast and strided inputs.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class GradCheckOpsTests : BackendTestBase
{
    public GradCheckOpsTests(Device device) : base(device) { }

    private static readonly (string Name, int[][] Shapes, Func<Tensor[], Tensor> F, bool Positive)[] s_cases =
    [
        ("add_broadcast", [[3, 1, 4], [5, 1]], x => x[0] + x[1], false),
        ("sub_broadcast", [[2, 3], [3]], x => x[0] - x[1], false),
        ("mul_broadcast", [[4, 1], [1, 5]], x => x[0] * x[1], false),
        ("div_broadcast", [[2, 3], [1, 3]], x => x[0] / x[1], true),
        ("maximum", [[3, 4], [3, 4]], x => x[0].Maximum(x[1]), false),
        ("minimum", [[3, 4], [4]], x => x[0].Minimum(x[1]), false),
        ("neg", [[5]], x => -x[0], false),
        ("exp", [[2, 3]], x => x[0].Exp(), false),
        ("log", [[7]], x => x[0].Log(), true),
        ("sqrt", [[7]], x => x[0].Sqrt(), true),
        ("rsqrt", [[7]], x => x[0].Rsqrt(), true),
        ("pow", [[6]], x => x[0].Pow(2.5), true),
        ("abs", [[9]], x => x[0].Abs(), false),
        ("clamp", [[9]], x => x[0].Clamp(-0.3, 0.4), false),
        ("relu", [[11]], x => x[0].Relu(), false),
        ("leaky_relu", [[11]], x => x[0].LeakyRelu(0.1), false),
        ("sigmoid", [[3, 3]], x => x[0].Sigmoid(), false),
        ("tanh", [[3, 3]], x => x[0].Tanh(), false),
        ("scalar_arith", [[4]], x => (2.0 - x[0] * 3.0) / 1.5 + 1.0, false),
        ("rdiv", [[4]], x => 2.0 / x[0], true),
        ("sum_dims", [[2, 3, 4]], x => x[0].Sum([0, 2]), false),
        ("mean_keep", [[2, 3, 4]], x => x[0].Mean(1, keepDim: true), false),
        ("var_unbiased", [[3, 5]], x => x[0].Var(1), false),
        ("var_all_biased", [[3, 5]], x => x[0].Var(unbiased: false), false),
        ("max_dim", [[3, 5]], x => x[0].Max(1).Values, false),
        ("min_dim", [[3, 5]], x => x[0].Min(0, keepDim: true).Values, false),
        ("matmul", [[3, 4], [4, 2]], x => x[0].Matmul(x[1]), false),
        ("matmul_batched_broadcast", [[2, 1, 3, 4], [3, 4, 2]], x => x[0].Matmul(x[1]), false),
        ("matmul_3d_2d", [[2, 3, 4], [4, 5]], x => x[0].Matmul(x[1]), false),
        ("matmul_vec", [[4], [4, 3]], x => x[0].Matmul(x[1]), false),
        ("softmax", [[3, 5]], x => x[0].Softmax(1), false),
        ("log_softmax_dim0", [[4, 3]], x => x[0].LogSoftmax(0), false),
        ("transpose_noncontig", [[3, 4]], x => x[0].T * x[0].T, false),
        ("permute_reshape", [[2, 3, 4]], x => x[0].Permute(1, 2, 0).Reshape(3, 8).Exp(), false),
        ("expand", [[3, 1]], x => x[0].Expand(3, 4).Mul(x[0].Expand(3, 4)), false),
        ("slice_narrow_select", [[4, 6]], x => x[0].Slice(1, 1, 6, 2).Narrow(0, 1, 2)[1].Sigmoid(), false),
        ("cat_stack", [[2, 3], [2, 2]], x => Tensor.Cat([x[0], x[1], x[0]], 1).Mul(Tensor.Stack([x[1], x[1]], 0).Sum()), false),
        ("where", [[3, 4], [4]], x => Tensor.Where(x[0].Gt(0), x[0], x[1]), false),
        ("clone_contiguous", [[3, 2]], x => x[0].T.Contiguous().Clone().Sin2(), false),
        ("fan_out", [[5]], x => x[0] * x[0] + x[0].Exp() * x[0], false),
    ];

    public static IEnumerable<string> Names() => s_cases.Select(c => c.Name);

    [TestCaseSource(nameof(Names))]
    public void GradientMatchesFiniteDifferences(string name)
    {
        var c = s_cases.First(x => x.Name == name);
        var g = new Generator(7);
        var inputs = c.Shapes.Select(s =>
        {
            var t = Randn(g, s);
            if (c.Positive)
            {
                var p = t.Abs() + 0.5;
                t = p.Detach();
            }
            t.RequiresGrad = true;
            return t;
        }).ToArray();
        var result = GradCheck.Check(c.F, inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
        Assert.That(result.Inputs, Has.Count.EqualTo(inputs.Length));
    }

    [Test]
    public void GradCheckCatchesAWrongGradient()
    {
        // A deliberately wrong "op": forward x^2, backward claims 3x (through a detached correction).
        var x = Randn(new Generator(1), [4], requiresGrad: true);
        var result = GradCheck.Check(xs => xs[0] * xs[0] + xs[0].Detach() * xs[0] - xs[0].Detach() * xs[0].Detach(), [x]);
        Assert.That(result.Passed, Is.False);
        Assert.That(result.ToString(), Does.Contain("out of tolerance"));
    }

    [Test]
    public void GradCheckRefusesFloat32()
    {
        var x = Tensor.Ones([3], DType.Float32, Device).SetRequiresGrad();
        Assert.Throws<ArgumentException>(() => GradCheck.Check(xs => xs[0] * 2.0, [x]));
    }
}

internal static class TestOps
{
    /// <summary>A smooth nonlinear composite used to give views a non-trivial downstream gradient.</summary>
    public static Tensor Sin2(this Tensor x) => x.Tanh() * x.Sigmoid();
}
