using System.Text.Json;
using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// Layers and losses against PyTorch 1.13 (Golden/layers.json, made by make_layers_golden.py): the
/// output and the gradient of every float input, in float64 (tight) and float32 (loose).
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class LayerGoldenTests : BackendTestBase
{
    public LayerGoldenTests(Device device) : base(device) { }

    private sealed record Array_(int[] Shape, double[] Data, bool IsInt);

    private sealed record Case(string Name, Array_[] Inputs, Array_ Output, double[] Cotangent, double[]?[] Grads);

    /// <summary>Our call for each case of the script, same arguments.</summary>
    private static readonly Dictionary<string, Func<Tensor[], Tensor>> s_ops = new()
    {
        ["conv_basic"] = x => F.Conv2d(x[0], x[1], x[2]),
        ["conv_stride2_pad1"] = x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1),
        ["conv_dilation2_pad2"] = x => F.Conv2d(x[0], x[1], x[2], padding: 2, dilation: 2),
        ["conv_groups2_pad1"] = x => F.Conv2d(x[0], x[1], x[2], padding: 1, groups: 2),
        ["conv_depthwise_stride2"] = x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1, groups: 3),
        ["conv_rect_nobias"] = x => F.Conv2d(x[0], x[1], null, (2, 1), (1, 2), (1, 2)),
        ["conv_1x1"] = x => F.Conv2d(x[0], x[1], x[2]),
        ["conv_1x1_stride2"] = x => F.Conv2d(x[0], x[1], x[2], stride: 2),
        ["conv_stride3_5x5"] = x => F.Conv2d(x[0], x[1], x[2], stride: 3, padding: 2),
        ["maxpool_k2"] = x => F.MaxPool2d(x[0], 2),
        ["maxpool_k3_s2_p1"] = x => F.MaxPool2d(x[0], 3, 2, 1),
        ["maxpool_k3_s2_ceil"] = x => F.MaxPool2d(x[0], 3, 2, ceilMode: true),
        ["maxpool_k3_p1_dil2"] = x => F.MaxPool2d(x[0], 3, 1, 1, dilation: 2),
        ["maxpool_rect"] = x => F.MaxPool2d(x[0], (2, 3), (1, 2), (1, 1)),
        ["avgpool_k2"] = x => F.AvgPool2d(x[0], 2),
        ["avgpool_k3_s2_p1"] = x => F.AvgPool2d(x[0], 3, 2, 1),
        ["avgpool_k3_s2_p1_nopad"] = x => F.AvgPool2d(x[0], 3, 2, 1, countIncludePad: false),
        ["avgpool_ceil_pad"] = x => F.AvgPool2d(x[0], 3, 2, 1, ceilMode: true),
        ["avgpool_ceil_pad_nopad"] = x => F.AvgPool2d(x[0], 3, 2, 1, ceilMode: true, countIncludePad: false),
        ["avgpool_divisor"] = x => F.AvgPool2d(x[0], 2, 1, divisorOverride: 3),
        ["adaptive_3x4"] = x => F.AdaptiveAvgPool2d(x[0], (3, 4)),
        ["adaptive_1"] = x => F.AdaptiveAvgPool2d(x[0], 1),
        ["adaptive_up_5x4"] = x => F.AdaptiveAvgPool2d(x[0], (5, 4)),
        ["linear"] = x => F.Linear(x[0], x[1], x[2]),
        ["linear_3d"] = x => F.Linear(x[0], x[1], x[2]),
        ["linear_nobias"] = x => F.Linear(x[0], x[1]),
        ["ce_mean"] = x => F.CrossEntropy(x[0], x[1]),
        ["ce_sum"] = x => F.CrossEntropy(x[0], x[1], Reduction.Sum),
        ["ce_none"] = x => F.CrossEntropy(x[0], x[1], Reduction.None),
        ["ce_smooth_mean"] = x => F.CrossEntropy(x[0], x[1], labelSmoothing: 0.2),
        ["ce_smooth_sum"] = x => F.CrossEntropy(x[0], x[1], Reduction.Sum, 0.2),
        ["ce_smooth_none"] = x => F.CrossEntropy(x[0], x[1], Reduction.None, 0.2),
        ["ce_large_logits"] = x => F.CrossEntropy(x[0], x[1], labelSmoothing: 0.1),
        ["nll_mean"] = x => F.NllLoss(x[0], x[1]),
        ["nll_sum"] = x => F.NllLoss(x[0], x[1], Reduction.Sum),
        ["nll_none"] = x => F.NllLoss(x[0], x[1], Reduction.None),
        ["mse_mean"] = x => F.MseLoss(x[0], x[1]),
        ["mse_sum"] = x => F.MseLoss(x[0], x[1], Reduction.Sum),
        ["mse_none"] = x => F.MseLoss(x[0], x[1], Reduction.None),
        ["gather_dim1"] = x => x[0].Gather(1, x[1]),
        ["gather_dim0_smaller"] = x => x[0].Gather(0, x[1]),
    };

    private static readonly Lazy<Dictionary<string, Case>> s_cases = new(Load);

    private static Dictionary<string, Case> Load()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "layers.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        static Array_ Arr(JsonElement e) => new(
            e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
            Doubles(e.GetProperty("data")),
            e.TryGetProperty("int", out var i) && i.GetBoolean());
        var result = new Dictionary<string, Case>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var name = c.GetProperty("name").GetString()!;
            result[name] = new Case(name, c.GetProperty("inputs").EnumerateArray().Select(Arr).ToArray(), Arr(c.GetProperty("output")),
                Doubles(c.GetProperty("cotangent")),
                c.GetProperty("grads").EnumerateArray().Select(g => g.ValueKind == JsonValueKind.Null ? null : Doubles(g)).ToArray());
        }
        return result;
    }

    public static IEnumerable<string> CaseNames() => s_ops.Keys.OrderBy(k => k, StringComparer.Ordinal);

    [Test]
    public void EveryGoldenCaseHasAnOp() =>
        Assert.That(s_cases.Value.Keys, Is.EquivalentTo(s_ops.Keys), "layers.json and the registry must list the same cases");

    [TestCaseSource(nameof(CaseNames))]
    public void Float64MatchesPyTorch(string name) => Run(name, DType.Float64, 1e-9, 1e-10);

    // Float32: inputs round to 24 bits; conv/linear sums of up to ~50 products loosen the agreement a little.
    [TestCaseSource(nameof(CaseNames))]
    public void Float32MatchesPyTorch(string name) => Run(name, DType.Float32, 1e-4, 1e-4);

    private void Run(string name, DType dtype, double rtol, double atol)
    {
        var c = s_cases.Value[name];
        var inputs = c.Inputs.Select(a => a.IsInt
            ? Tensor.FromArray(a.Data.Select(v => (long)v).ToArray(), a.Shape, Device)
            : T(a.Data, a.Shape, dtype, requiresGrad: true)).ToArray();
        var y = s_ops[name](inputs);
        Assert.That(y.Shape, Is.EqualTo(c.Output.Shape), $"{name} output shape");
        // Large-logit cross-entropy is ~1e3: relative tolerance covers it.
        AssertClose(D(y), c.Output.Data, rtol, atol, $"{name} output");
        var w = T(c.Cotangent, c.Output.Shape, dtype);
        (y * w).Sum().Backward();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (c.Grads[i] is not { } expected) continue;
            Assert.That(inputs[i].Grad, Is.Not.Null, $"{name}: input {i} got no gradient");
            AssertClose(D(inputs[i].Grad!), expected, rtol, atol, $"{name} grad of input {i}");
        }
    }
}
