using Framework.Autograd;
using Framework.Nn;
using static Framework.Onnx.OnnxGraphBuilder;

namespace Framework.Onnx;

/// <summary>
/// Exports a layer of a type the exporter does not know by recording the ops its forward runs
/// (<see cref="OpRecording"/>) and following its output back to the input and the parameters.
/// </summary>
internal static class OnnxOpTracer
{
    /// <summary>The ops with an ONNX form, named in the error when a forward uses another.</summary>
    public const string Supported = "+, -, *, / (tensors, with broadcasting, or a scalar), Matmul, Sum, Mean, Softmax, LogSoftmax, Reshape/View/Flatten, Permute, Cat, Relu";

    public static (Tensor Value, string Name) Trace(OnnxGraphBuilder g, Dictionary<Tensor, string> names, Layer layer, string at, Tensor x, string xName)
    {
        var made = new Dictionary<Tensor, RecordedOp>(ReferenceEqualityComparer.Instance);
        Tensor y;
        // An op called inside another reports first; the outer op's later report of the same output wins.
        using (OpRecording.Begin(r => made[r.Output] = r))
            y = layer.Forward(x);
        var known = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance) { [x] = xName };

        string Resolve(Tensor t)
        {
            if (known.TryGetValue(t, out var name)) return name;
            if (names.TryGetValue(t, out var key)) return known[t] = g.Initializer(key, t);
            if (!made.TryGetValue(t, out var op))
                throw OnnxLayerTracer.Unsupported(layer, at,
                    $"its forward computes a [{string.Join(", ", t.Shape)}] tensor with an op that has no ONNX form here, or uses a tensor that is neither its input nor a registered parameter or buffer (ops with an ONNX form: {Supported}; layers: Conv2d, Linear, the norms, pools, activations, Dropout, Flatten)");
            var inputs = op.Inputs.Select(Resolve).ToArray();
            return known[t] = Emit(g, at, op, inputs);
        }

        return (y, Resolve(y));
    }

    private static string Emit(OnnxGraphBuilder g, string at, RecordedOp op, string[] inputs)
    {
        var x = op.Inputs[0];
        switch (op.Op)
        {
            case "Add" or "Sub" or "Mul" or "Div" or "Relu":
                return g.Node(op.Op, at, inputs);
            case "AddScalar":
                return g.Node("Add", at, [inputs[0], g.ScalarConstant((double)op.Argument!)]);
            case "MulScalar":
                return g.Node("Mul", at, [inputs[0], g.ScalarConstant((double)op.Argument!)]);
            case "Matmul":
                return g.Node("MatMul", at, inputs);
            case "Softmax" or "LogSoftmax":
                return g.Node(op.Op, at, inputs, Int("axis", (int)op.Argument!));
            case "Sum":
            {
                var dims = (int[]?)op.Argument;
                var keep = Int("keepdims", (bool)op.Argument2! ? 1 : 0);
                return dims is null
                    ? g.Node("ReduceSum", at, inputs, keep)
                    : g.Node("ReduceSum", at, [inputs[0], g.Int64Constant([.. dims.Select(d => (long)d)])], keep);
            }
            case "Mean":
            {
                // Opset 17's ReduceMean takes its axes as an attribute (an input only from opset 18).
                var dims = (int[]?)op.Argument;
                var keep = Int("keepdims", (bool)op.Argument2! ? 1 : 0);
                return dims is null
                    ? g.Node("ReduceMean", at, inputs, keep)
                    : g.Node("ReduceMean", at, inputs, Ints("axes", [.. dims.Select(d => (long)d)]), keep);
            }
            case "Reshape":
            {
                // A target whose leading size equals the input's traced batch keeps the batch symbolic (0: copy the input's dim).
                var shape = ((int[])op.Argument!).Select(d => (long)d).ToArray();
                if (x.Dim > 0 && shape.Length > 0 && shape[0] == x.Size(0)) shape[0] = 0;
                return g.Node("Reshape", at, [inputs[0], g.Int64Constant(shape)]);
            }
            case "Permute":
                return g.Node("Transpose", at, inputs, Ints("perm", [.. ((int[])op.Argument!).Select(d => (long)d)]));
            case "Cat":
                return g.Node("Concat", at, inputs, Int("axis", (int)op.Argument!));
            default:
                throw new InvalidOperationException($"ONNX export: recorded op {op.Op} has no ONNX form (this is a bug: OpRecording reported it)");
        }
    }
}
