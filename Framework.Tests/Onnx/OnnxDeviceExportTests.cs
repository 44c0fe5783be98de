using Framework.Nn;
using Framework.Onnx;
using NUnit.Framework;

namespace Framework.Tests.Onnx;

/// <summary>
/// A model living on each device exports (initializers are downloaded from the device) and ONNX
/// Runtime on the CPU reproduces that device's forward (float32: |ours - ORT| &lt;= 1e-4 + 1e-4 |ours|).
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class OnnxDeviceExportTests : BackendTestBase
{
    public OnnxDeviceExportTests(Device device) : base(device) { }

    private sealed class Head : Layer
    {
        public Head(Device device) => RegisterParameter("scale", Tensor.Full([4], 0.5, DType.Float32, device));

        // Op-traced: a layer the exporter does not know.
        public override Tensor Forward(Tensor input) => (input * GetParameter("scale")!).Softmax(-1);
    }

    [Test]
    public void ModelOnDeviceExportsAndOnnxRuntimeMatchesItsForward()
    {
        var g = new Generator(5);
        using var net = new Sequential(
            new Conv2d(1, 3, 3, padding: 1, generator: g, device: Device), new BatchNorm2d(3, device: Device), new ReLU(),
            new MaxPool2d(2), new Flatten(), new Linear(3 * 2 * 2, 4, generator: g, device: Device), new Head(Device));
        net.Eval();
        using var xCpu = Tensor.Randn([3, 1, 4, 4], g);
        using var x = xCpu.To(Device);
        float[] ours;
        using (Tensor.NoGrad())
        using (var y = net.Forward(x))
            ours = y.ToArray<float>();
        var bytes = net.ToOnnxBytes(x);
        var theirs = OnnxExportTests.RunOrt(bytes, xCpu.ToArray<float>(), [3, 1, 4, 4], out var shape);
        Assert.That(shape, Is.EqualTo(new long[] { 3, 4 }));
        for (int i = 0; i < ours.Length; i++)
            Assert.That(theirs[i], Is.EqualTo(ours[i]).Within(1e-4 + 1e-4 * Math.Abs(ours[i])), $"element {i} on {Device}");
    }
}
