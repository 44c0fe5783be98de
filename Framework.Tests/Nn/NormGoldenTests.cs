using System.Text.Json;
using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// BatchNorm2d and InstanceNorm2d replayed against PyTorch 1.13 (Golden/norms.json, made by
/// make_norm_golden.py): every step's output, the last step's input/weight/bias gradients, and the
/// running statistics after every training step, for momentum 0.1, 0, 1 and null.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class NormGoldenTests : BackendTestBase
{
    public NormGoldenTests(Device device) : base(device) { }

    private static readonly Lazy<JsonElement[]> s_cases = new(() =>
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "norms.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("cases").EnumerateArray().ToArray();
    });

    public static IEnumerable<string> Names()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", "norms.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToList();
    }

    private static double[] Arr(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [TestCaseSource(nameof(Names))]
    public void Float64MatchesPyTorch(string name) => Replay(name, DType.Float64, 1e-10);

    // float32 data round to 24 bits; statistics are accumulated in double, so 1e-5 relative holds.
    [TestCaseSource(nameof(Names))]
    public void Float32MatchesPyTorch(string name) => Replay(name, DType.Float32, 2e-5);

    private void Replay(string name, DType dtype, double tol)
    {
        var c = s_cases.Value.First(x => x.GetProperty("name").GetString() == name);
        int features = c.GetProperty("num_features").GetInt32();
        double? momentum = c.GetProperty("momentum").ValueKind == JsonValueKind.Null ? null : c.GetProperty("momentum").GetDouble();
        bool affine = c.GetProperty("affine").GetBoolean(), track = c.GetProperty("track").GetBoolean();
        bool batch = c.GetProperty("module").GetString() == "BatchNorm2d";
        using NormBase module = batch
            ? new BatchNorm2d(features, momentum: momentum, affine: affine, trackRunningStats: track, dtype: dtype, device: Device)
            : new InstanceNorm2d(features, momentum: momentum, affine: affine, trackRunningStats: track, dtype: dtype, device: Device);
        if (affine)
        {
            using (Tensor.NoGrad())
            {
                module.Weight!.CopyFrom(T(Arr(c.GetProperty("weight")), [features], dtype));
                module.Bias!.CopyFrom(T(Arr(c.GetProperty("bias")), [features], dtype));
            }
        }
        var steps = c.GetProperty("steps").EnumerateArray().ToArray();
        for (int i = 0; i < steps.Length; i++)
        {
            var s = steps[i];
            var shape = s.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            if (s.GetProperty("mode").GetString() == "eval") module.Eval();
            module.ZeroGrad();
            var x = T(Arr(s.GetProperty("x")), shape, dtype, requiresGrad: true);
            var y = batch ? ((BatchNorm2d)module).Forward(x) : ((InstanceNorm2d)module).Forward(x);
            string at = $"{name} step {i}";
            AssertClose(D(y), Arr(s.GetProperty("y")), tol, tol, $"{at} output");
            (y * T(Arr(s.GetProperty("w")), shape, dtype)).Sum().Backward();
            AssertClose(D(x.Grad!), Arr(s.GetProperty("dx")), tol, tol * 10, $"{at} input grad");
            if (affine)
            {
                AssertClose(D(module.Weight!.Grad!), Arr(s.GetProperty("dweight")), tol, tol * 10, $"{at} weight grad");
                AssertClose(D(module.Bias!.Grad!), Arr(s.GetProperty("dbias")), tol, tol * 10, $"{at} bias grad");
            }
            if (track)
            {
                AssertClose(D(module.RunningMean!), Arr(s.GetProperty("running_mean")), tol, tol, $"{at} running_mean");
                AssertClose(D(module.RunningVar!), Arr(s.GetProperty("running_var")), tol, tol, $"{at} running_var");
                // PyTorch never counts InstanceNorm batches; ours does (needed for momentum = null).
                if (batch) Assert.That(module.NumBatchesTracked!.Item<long>(), Is.EqualTo(s.GetProperty("num_batches_tracked").GetInt64()), $"{at} num_batches_tracked");
            }
        }
    }
}
