using Framework.Data;
using Framework.Nn;
using Framework.Onnx;
using Framework.Optim;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace Framework.Tests.Onnx;

/// <summary>
/// Every exportable layer, exported and run by ONNX Runtime (CPU), equals our eval forward, on the
/// traced batch size and on a different one (the batch axis is symbolic). Tolerance: float32,
/// |ours - ort| &lt;= 1e-4 + 1e-4 |ours| (different summation orders in conv, matmul and the norms'
/// statistics; the values here are O(1)).
/// </summary>
public sealed class OnnxExportTests
{
    private const double Atol = 1e-4, Rtol = 1e-4;

    internal static float[] RunOrt(byte[] model, float[] data, int[] shape, out long[] outShape)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        using var input = OrtValue.CreateTensorValueFromMemory(data, shape.Select(d => (long)d).ToArray());
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["input"], [input], ["output"]);
        outShape = results[0].GetTensorTypeAndShape().Shape;
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Puts non-trivial values into the running statistics (and the affine parameters) of every norm layer.</summary>
    private static void Perturb(Module m, Generator gen)
    {
        using (Tensor.NoGrad())
            foreach (var (name, t) in m.NamedParameters().Concat(m.NamedBuffers()))
            {
                if (t.DType != DType.Float32) continue;
                if (name.EndsWith("running_var", StringComparison.Ordinal) || (name.EndsWith("weight", StringComparison.Ordinal) && t.Dim == 1))
                {
                    using var r = Tensor.Rand(t.Shape, gen);
                    using var v = r.Mul(1.5).Add(0.25);
                    t.CopyFrom(v);
                }
                else if (name.EndsWith("running_mean", StringComparison.Ordinal) || (name.EndsWith("bias", StringComparison.Ordinal) && t.Dim == 1))
                {
                    using var r = Tensor.Randn(t.Shape, gen);
                    using var v = r.Mul(0.5);
                    t.CopyFrom(v);
                }
            }
    }

    internal static void AssertMatches(Layer layer, int[] tracedShape, int otherBatch, OnnxExportOptions? options = null)
    {
        var gen = new Generator(7);
        Perturb(layer, gen);
        layer.Eval();
        using var sample = Tensor.Randn(tracedShape, gen);
        var bytes = layer.ToOnnxBytes(sample, options);
        foreach (int batch in new[] { tracedShape[0], otherBatch })
        {
            var shape = (int[])tracedShape.Clone();
            shape[0] = batch;
            using var x = Tensor.Randn(shape, gen);
            var xData = x.ToArray<float>();
            float[] ours;
            int[] ourShape;
            using (Tensor.NoGrad())
            {
                var y = layer.Forward(x);
                ours = y.ToArray<float>();
                ourShape = y.Shape;
                if (!ReferenceEquals(y, x)) y.Dispose(); // Dropout in eval returns its input
            }
            var theirs = RunOrt(bytes, xData, shape, out var theirShape);
            Assert.That(theirShape, Is.EqualTo(ourShape.Select(d => (long)d).ToArray()), $"{layer}: output shape at batch {batch}");
            for (int i = 0; i < ours.Length; i++)
                if (!(Math.Abs(ours[i] - theirs[i]) <= Atol + Rtol * Math.Abs(ours[i])))
                    Assert.Fail($"{layer}: element {i} at batch {batch}: ours {ours[i]}, ONNX Runtime {theirs[i]}");
        }
    }

    private static IEnumerable<TestCaseData> Layers()
    {
        var g = new Generator(3);
        TestCaseData Case(string name, Func<Layer> make, int[] shape) => new TestCaseData(make, shape) { TestName = $"Exported_{name}" };
        yield return Case("Conv2d_basic", () => new Conv2d(3, 4, 3, generator: g), [2, 3, 8, 8]);
        yield return Case("Conv2d_stride_pad_dilation", () => new Conv2d(3, 6, 3, stride: 2, padding: 2, dilation: 2, generator: g), [2, 3, 9, 9]);
        yield return Case("Conv2d_groups_nobias", () => new Conv2d(4, 6, 3, padding: 1, groups: 2, bias: false, generator: g), [2, 4, 6, 6]);
        yield return Case("Conv2d_rect", () => new Conv2d(2, 3, (3, 1), stride: (2, 1), padding: (1, 0), generator: g), [2, 2, 7, 5]);
        yield return Case("Linear_2d", () => new Linear(5, 3, generator: g), [4, 5]);
        yield return Case("Linear_3d_nobias", () => new Linear(5, 3, bias: false, generator: g), [2, 4, 5]);
        yield return Case("BatchNorm2d", () => new BatchNorm2d(3), [2, 3, 4, 4]);
        yield return Case("BatchNorm2d_noaffine", () => new BatchNorm2d(3, affine: false), [2, 3, 4, 4]);
        yield return Case("InstanceNorm2d", () => new InstanceNorm2d(3, affine: false), [2, 3, 4, 5]);
        yield return Case("InstanceNorm2d_affine", () => new InstanceNorm2d(3, affine: true), [2, 3, 4, 5]);
        yield return Case("InstanceNorm2d_tracked", () => new InstanceNorm2d(3, affine: true, trackRunningStats: true), [2, 3, 4, 5]);
        yield return Case("GroupNorm", () => new GroupNorm(2, 4), [2, 4, 3, 3]);
        yield return Case("GroupNorm_noaffine", () => new GroupNorm(2, 6, affine: false), [3, 6, 5]);
        yield return Case("LayerNorm", () => new LayerNorm([4, 5]), [2, 3, 4, 5]);
        yield return Case("LayerNorm_noaffine", () => new LayerNorm([5], elementwiseAffine: false), [3, 5]);
        yield return Case("MaxPool2d", () => new MaxPool2d(2), [2, 3, 6, 6]);
        yield return Case("MaxPool2d_pad_ceil_dilation", () => new MaxPool2d(3, stride: 2, padding: 1, dilation: 1, ceilMode: true), [2, 3, 8, 8]);
        yield return Case("AvgPool2d", () => new AvgPool2d(2), [2, 3, 6, 6]);
        yield return Case("AvgPool2d_pad_excl", () => new AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false), [2, 3, 7, 7]);
        yield return Case("AdaptiveAvgPool2d_global", () => new AdaptiveAvgPool2d(1), [2, 3, 5, 7]);
        yield return Case("AdaptiveAvgPool2d_even", () => new AdaptiveAvgPool2d((2, 3)), [2, 3, 4, 6]);
        yield return Case("ReLU", () => new ReLU(), [3, 7]);
        yield return Case("LeakyReLU", () => new LeakyReLU(0.2), [3, 7]);
        yield return Case("Sigmoid", () => new Sigmoid(), [3, 7]);
        yield return Case("Tanh", () => new Tanh(), [3, 7]);
        yield return Case("Dropout", () => new Dropout(0.3), [3, 7]);
        yield return Case("Flatten", () => new Flatten(), [2, 3, 4, 5]);
        yield return Case("Flatten_middle", () => new Flatten(1, 2), [2, 3, 4, 5]);
        yield return Case("Sequential_nested", () => new Sequential(
            new Conv2d(3, 8, 3, padding: 1, generator: g), new BatchNorm2d(8), new ReLU(),
            new Sequential(new Conv2d(8, 8, 3, padding: 1, groups: 4, generator: g), new GroupNorm(4, 8), new Tanh()),
            new MaxPool2d(2), new Flatten(), new Dropout(0.5), new Linear(8 * 4 * 4, 10, generator: g), new LayerNorm([10])), [2, 3, 8, 8]);
    }

    [TestCaseSource(nameof(Layers))]
    public void ExportedLayerEqualsOurForwardInOnnxRuntime(Func<Layer> make, int[] shape)
    {
        using var layer = make();
        AssertMatches(layer, shape, otherBatch: shape[0] + 3);
    }

    [Test]
    public void ModelCarriesOpsetMetadataAndStateDictNames()
    {
        using var net = new Sequential(new Conv2d(1, 2, 3, generator: new Generator(1)), new BatchNorm2d(2), new Flatten(), new Linear(2 * 4 * 4, 3, generator: new Generator(2)));
        using var x = Tensor.Zeros([1, 1, 6, 6]);
        var model = global::Onnx.ModelProto.Parser.ParseFrom(net.ToOnnxBytes(x));
        Assert.That(model.OpsetImport.Single().Version, Is.EqualTo(17));
        Assert.That(model.ProducerName, Is.EqualTo("Framework"));
        Assert.That(model.ProducerVersion, Is.Not.Empty);
        Assert.That(model.DocString, Is.Not.Empty);
        Assert.That(model.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("batch"));
        Assert.That(model.Graph.Output.Single().Type.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("batch"));
        var stateKeys = net.StateDict().Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Order().ToArray();
        Assert.That(model.Graph.Initializer.Select(i => i.Name).Order().ToArray(), Is.EqualTo(stateKeys));
        Assert.That(net.Training, Is.True, "export restores the training mode");
    }

    [Test]
    public void StaticBatchOptionFixesTheLeadingDim()
    {
        using var net = new Sequential(new Linear(3, 2, generator: new Generator(1)));
        using var x = Tensor.Zeros([4, 3]);
        var model = global::Onnx.ModelProto.Parser.ParseFrom(net.ToOnnxBytes(x, new OnnxExportOptions { DynamicBatch = false }));
        Assert.That(model.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimValue, Is.EqualTo(4));
    }

    private sealed class Custom : Layer
    {
        public override Tensor Forward(Tensor input) => input.Exp(); // Exp has no export form
    }

    [Test]
    public void LayerWithoutOnnxFormFailsNamingTypeAndPath()
    {
        using var net = new Sequential(new ReLU(), new Custom());
        using var x = Tensor.Zeros([1, 3]);
        var e = Assert.Throws<NotSupportedException>(() => net.ToOnnxBytes(x));
        Assert.That(e!.Message, Does.Contain("Custom").And.Contain("'1'"));
        using var bad = new Sequential(new AvgPool2d(2, divisorOverride: 3));
        using var x4 = Tensor.Zeros([1, 1, 4, 4]);
        e = Assert.Throws<NotSupportedException>(() => bad.ToOnnxBytes(x4));
        Assert.That(e!.Message, Does.Contain("AvgPool2d").And.Contain("divisorOverride"));
    }

    [Test]
    public void TrainedDigitsNetworkGivesTheSamePredictionsInOnnxRuntime()
    {
        var d = DigitsCsv.Load(Path.Combine(AppContext.BaseDirectory, "digits.csv.gz"));
        using var net = Digits.DigitsNet.Build(d.Height, d.Width, d.Classes, new Generator(0), Device.Cpu);
        int n = d.Count;
        var pixels = d.Pixels.Select(p => p / 16f).ToArray();
        using var images = Tensor.FromArray(pixels, [n, 1, d.Height, d.Width]);
        using var labels = Tensor.FromArray(d.Labels, [n]);
        // A short training run so that weights and BatchNorm's running statistics are not the initial ones.
        var opt = new SGD(net.Parameters(), lr: 0.1, momentum: 0.9);
        for (int step = 0; step < 15; step++)
        {
            int start = step * 64 % (n - 64);
            using var xb = images.Narrow(0, start, 64);
            using var yb = labels.Narrow(0, start, 64);
            using var scope = new TensorScope();
            var loss = F.CrossEntropy(net.Forward(xb), yb);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        net.Eval();
        long[] ours;
        using (Tensor.NoGrad())
        using (var logits = net.Forward(images))
        using (var am = logits.ArgMax(1))
            ours = am.ToArray<long>();
        using var sample = images.Narrow(0, 0, 8);
        var path = Path.Combine(Path.GetTempPath(), $"digits-{Guid.NewGuid():N}.onnx");
        try
        {
            net.ExportOnnx(path, sample);
            var theirLogits = RunOrt(File.ReadAllBytes(path), pixels, [n, 1, d.Height, d.Width], out var shape);
            Assert.That(shape, Is.EqualTo(new long[] { n, d.Classes }));
            var theirs = Enumerable.Range(0, n).Select(i =>
            {
                var row = theirLogits.AsSpan(i * d.Classes, d.Classes);
                int best = 0;
                for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
                return (long)best;
            }).ToArray();
            Assert.That(theirs, Is.EqualTo(ours));
            double accuracy = ours.Zip(d.Labels).Count(p => p.First == p.Second) / (double)n;
            Assert.That(accuracy, Is.GreaterThan(0.5), "the network learned something, so the predictions compared are not constant");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
