using Framework.Nn;
using Framework.Onnx;
using NUnit.Framework;

namespace Framework.Tests.Onnx;

/// <summary>
/// Layers the exporter does not know are exported from the ops their forward records: each op with
/// an ONNX form, run by ONNX Runtime, equals our forward (tolerances as in <see cref="OnnxExportTests"/>),
/// at the traced batch size and another one.
/// </summary>
public sealed class OnnxOpExportTests
{
    /// <summary>A layer whose forward is a lambda over its input and one parameter "w".</summary>
    private sealed class Fn : Layer
    {
        private readonly Func<Tensor, Tensor, Tensor> _body;

        public Fn(int[] weightShape, Func<Tensor, Tensor, Tensor> body)
        {
            _body = body;
            RegisterParameter("w", Tensor.Randn(weightShape, new Generator(11)));
        }

        public override Tensor Forward(Tensor input) => _body(input, GetParameter("w")!);
    }

    private static IEnumerable<TestCaseData> Ops()
    {
        TestCaseData Case(string name, int[] w, Func<Tensor, Tensor, Tensor> body, int[] shape) =>
            new TestCaseData(w, body, shape) { TestName = $"ExportedOp_{name}" };
        yield return Case("Add_Sub_Mul_Div_broadcast", [5], (x, w) => (x + w) * x - x / (w * w + 1.0), [2, 4, 5]);
        yield return Case("Scalars", [1], (x, w) => (x * 3.0 + 1.0 - 0.5) / 2.0, [3, 4]);
        yield return Case("Matmul_batched", [5, 3], (x, w) => x.Matmul(w), [2, 4, 5]);
        yield return Case("Sum_dim", [1], (x, w) => x.Sum(1), [2, 4, 5]);
        yield return Case("Sum_keepdim", [1], (x, w) => x.Sum([1, 2], keepDim: true), [2, 4, 5]);
        yield return Case("Mean_dims", [1], (x, w) => x.Mean([2], keepDim: true) + x, [2, 4, 5]);
        yield return Case("Reshape_keeps_batch", [1], (x, w) => x.Reshape(x.Size(0), -1), [2, 4, 5]);
        yield return Case("View_Flatten", [1], (x, w) => x.Flatten(1), [2, 3, 4, 5]);
        yield return Case("Permute", [1], (x, w) => x.Permute(0, 2, 1), [2, 4, 5]);
        yield return Case("Cat", [4, 5], (x, w) => Tensor.Cat([x, x * w], 1), [2, 4, 5]);
        yield return Case("Softmax", [1], (x, w) => x.Softmax(-1), [2, 4, 5]);
        yield return Case("LogSoftmax", [1], (x, w) => x.LogSoftmax(1), [2, 4, 5]);
        yield return Case("Relu_residual", [5, 5], (x, w) => x.Matmul(w).Relu() + x, [3, 5]);
    }

    [TestCaseSource(nameof(Ops))]
    public void ExportedOpEqualsOurForwardInOnnxRuntime(int[] weightShape, Func<Tensor, Tensor, Tensor> body, int[] shape)
    {
        // Inside a Sequential, after a known layer, so that layer and op tracing meet.
        using var net = new Sequential(new Tanh(), new Fn(weightShape, body));
        OnnxExportTests.AssertMatches(net, shape, shape[0] + 3);
    }

    [Test]
    public void OpWithoutOnnxFormFailsNamingTheLayer()
    {
        using var net = new Sequential(new ReLU(), new Fn([1], (x, w) => x.Exp()));
        using var x = Tensor.Zeros([1, 3]);
        var e = Assert.Throws<NotSupportedException>(() => net.ToOnnxBytes(x));
        Assert.That(e!.Message, Does.Contain("Fn at '1'").And.Contain("no ONNX form").And.Contain("Matmul"));
    }
}
