using System.Text.Json;
using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// A small CNN with PyTorch's own weights (the "model" entry of Golden/layers.json): the state dict
/// loads key for key into the same <see cref="Sequential"/>, and one training-mode forward with
/// label-smoothed cross-entropy gives PyTorch's loss, parameter gradients and running statistics.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class ModelGoldenTests : BackendTestBase
{
    public ModelGoldenTests(Device device) : base(device) { }

    private Tensor Load(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        return e.GetProperty("int").GetBoolean()
            ? Tensor.FromArray(data.Select(v => (long)v).ToArray(), shape, Device)
            : T(data, shape);
    }

    [Test]
    public void PyTorchWeightsGiveTheSameTrainingStep()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "layers.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var model = doc.RootElement.GetProperty("model");
        using var net = new Sequential(
            new Conv2d(2, 4, 3, padding: 1, dtype: DType.Float64, device: Device),
            new BatchNorm2d(4, dtype: DType.Float64, device: Device),
            new ReLU(),
            new MaxPool2d(2),
            new Conv2d(4, 6, 3, stride: 2, padding: 1, groups: 2, dtype: DType.Float64, device: Device),
            new LeakyReLU(0.1),
            new AdaptiveAvgPool2d(2),
            new Flatten(),
            new Linear(24, 5, dtype: DType.Float64, device: Device),
            new Tanh());
        var state = model.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => Load(p.Value));
        net.LoadStateDict(state); // strict: every key must match PyTorch's
        var loss = F.CrossEntropy(net.Forward(Load(model.GetProperty("input"))), Load(model.GetProperty("target")), labelSmoothing: 0.1);
        Assert.That(loss.Item(), Is.EqualTo(model.GetProperty("loss").GetDouble()).Within(1e-12));
        loss.Backward();
        var parameters = net.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var g in model.GetProperty("grads").EnumerateObject())
            AssertClose(D(parameters[g.Name].Grad!), D(Load(g.Value)), 1e-9, 1e-12, $"grad of {g.Name}");
        var after = net.StateDict();
        foreach (var s in model.GetProperty("after").EnumerateObject())
            AssertClose(D(after[s.Name]), D(Load(s.Value)), 1e-12, 1e-12, s.Name);
    }
}
