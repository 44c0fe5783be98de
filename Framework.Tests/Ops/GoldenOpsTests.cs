using System.Text.Json;
using NUnit.Framework;

namespace Framework.Tests.Ops;

/// <summary>Every op against PyTorch 1.13's values (Golden/ops.json, made by make_golden.py): output and input gradients.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class GoldenOpsTests : BackendTestBase
{
    public GoldenOpsTests(Device device) : base(device) { }

    internal sealed record Array_(int[] Shape, double[] Data);

    internal sealed record Case(string Name, Array_[] Inputs, Array_ Output, double[]? Cotangent, double[]?[]? Grads);

    private static readonly Lazy<Dictionary<string, Case>> s_cases = new(Load);

    private static Dictionary<string, Case> Load()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "ops.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var result = new Dictionary<string, Case>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            static Array_ Arr(JsonElement e) => new(
                e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
                e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray());
            double[]? cot = c.TryGetProperty("cotangent", out var ct) ? ct.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
            double[]?[]? grads = c.TryGetProperty("grads", out var gs)
                ? gs.EnumerateArray().Select(g => g.ValueKind == JsonValueKind.Null ? null : g.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray()
                : null;
            var name = c.GetProperty("name").GetString()!;
            result[name] = new Case(name, c.GetProperty("inputs").EnumerateArray().Select(Arr).ToArray(), Arr(c.GetProperty("output")), cot, grads);
        }
        return result;
    }

    public static IEnumerable<string> CaseNames() => OpRegistry.Ops.Keys.OrderBy(k => k, StringComparer.Ordinal);

    [Test]
    public void EveryGoldenCaseHasAnOp() =>
        Assert.That(s_cases.Value.Keys, Is.EquivalentTo(OpRegistry.Ops.Keys), "ops.json and OpRegistry must list the same cases");

    [TestCaseSource(nameof(CaseNames))]
    public void Float64MatchesPyTorch(string name) => Run(name, DType.Float64, 1e-9, 1e-11);

    // Float32 inputs round to 24 bits, so outputs agree to about 1e-6 relative; sums of tens of terms loosen that a little.
    [TestCaseSource(nameof(CaseNames))]
    public void Float32MatchesPyTorch(string name) => Run(name, DType.Float32, 2e-5, 2e-5);

    private void Run(string name, DType dtype, double rtol, double atol)
    {
        var c = s_cases.Value[name];
        var inputs = c.Inputs.Select(a => T(a.Data, a.Shape, dtype, requiresGrad: c.Grads is not null)).ToArray();
        var y = OpRegistry.Ops[name](inputs);
        Assert.That(y.Shape, Is.EqualTo(c.Output.Shape), "output shape");
        AssertClose(D(y), c.Output.Data, rtol, atol, $"{name} output");
        if (c.Grads is null) return;
        var w = T(c.Cotangent!, c.Output.Shape, dtype);
        (y * w).Sum().Backward();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (c.Grads[i] is not { } expected) continue;
            Assert.That(inputs[i].Grad, Is.Not.Null, $"{name}: input {i} got no gradient");
            AssertClose(D(inputs[i].Grad!), expected, rtol, atol, $"{name} grad of input {i}");
        }
    }
}
