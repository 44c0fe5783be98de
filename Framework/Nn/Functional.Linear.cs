using Framework.Autograd;

namespace Framework.Nn;

public static partial class F
{
    /// <summary>
    /// y = x W^T + b (PyTorch's <c>linear</c>) for input [*, in], weight [out, in] (PyTorch's layout),
    /// bias [out]. One GEMM with the transposed-B flag: the bias is broadcast into y first and the product
    /// accumulated onto it, so neither W^T nor x W^T is materialised.
    /// </summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        input.CheckFloatingPoint("Linear");
        input.CheckSameKind(weight, "Linear");
        if (bias is not null) input.CheckSameKind(bias, "Linear");
        if (weight.Dim != 2)
            throw new ArgumentException($"Linear expected 2D weight (out_features, in_features), got {weight.Dim}D weight {Shapes.Format(weight._shape)}");
        int outF = weight._shape[0], inF = weight._shape[1];
        if (input.Dim == 0 || input._shape[^1] != inF)
            throw new ArgumentException(
                $"Linear: input {Shapes.Format(input._shape)} must have {inF} features (in_features of weight {Shapes.Format(weight._shape)}) in its last dim, got {(input.Dim == 0 ? "a 0D tensor" : input._shape[^1].ToString())}");
        if (bias is not null && (bias.Dim != 1 || bias._shape[0] != outF))
            throw new ArgumentException($"Linear expected bias of shape [{outF}] (out_features), got {Shapes.Format(bias._shape)}");

        int rows = Shapes.ToSize(inF == 0 ? Shapes.Numel(input._shape.AsSpan(0, input.Dim - 1)) : input.Numel / inF,
            "Linear", $"the number of rows of input {Shapes.Format(input._shape)} (all dims but the last)");
        Shapes.MulElements(rows, outF, "Linear", "the output size (rows * out_features)");
        int[] outShape = [.. input._shape[..^1], outF];
        var y = input.EmptyLike(outShape);
        using (var unscoped = TensorScope.Suppress())
        using (var y3 = y.AsStridedAlias([1, rows, outF], [(long)rows * outF, outF, 1], 0))
        {
            if (bias is null) y.Backend.Fill(y3, 0);
            else
            {
                using var b = bias.AsStridedAlias([1, rows, outF], [0, 0, bias._strides[0]], bias._offset);
                y.Backend.Copy(b, y3);
            }
            if (rows > 0 && inF > 0 && outF > 0)
            {
                using var x3 = Rows3(input, rows, inF);
                using var w3 = Rows3(weight, outF, inF);
                y.Backend.Matmul(x3, w3, y3, transA: false, transB: true, accumulate: true);
            }
        }
        var inputs = bias is null ? new[] { input, weight } : [input, weight, bias];
        if (!Engine.NeedsGrad(inputs)) return y;
        var node = new LinearNode(rows, inF, outF, bias is not null);
        if (weight.RequiresGrad) node.X = node.Save(input);
        if (input.RequiresGrad) node.W = node.Save(weight);
        return Engine.Record(node, y, inputs);
    }

    /// <summary>A contiguous, unscoped [1, rows, cols] alias of t (copied when t is strided).</summary>
    private static Tensor Rows3(Tensor t, int rows, int cols)
    {
        using var owned = t.ContiguousOwned();
        return owned.AsStridedAlias([1, rows, cols], [(long)rows * cols, cols, 1], owned._offset);
    }

    /// <summary>dx = dy W, dW = dy^T x (one GEMM over all rows, transA), db = dy summed over rows.</summary>
    private sealed class LinearNode(int rows, int inF, int outF, bool hasBias) : Node
    {
        public SavedTensor? X, W;
        public override string Name => "LinearBackward";

        internal override Tensor?[] Apply(Tensor grad)
        {
            using var dy3 = Rows3(grad, rows, outF);
            Tensor? dx = null, dw = null, db = null;
            bool work = rows > 0 && inF > 0 && outF > 0;
            if (!Edges[0].IsEmpty)
            {
                var w = W!.Get();
                int[] shape = [.. grad._shape[..^1], inF];
                dx = Tensor.Full(shape, 0, grad.DType, grad.Device);
                using var dx3 = dx.AsStridedAlias([1, rows, inF], [(long)rows * inF, inF, 1], 0);
                using var w3 = Rows3(w, outF, inF);
                if (work) grad.Backend.Matmul(dy3, w3, dx3, transA: false, transB: false, accumulate: false);
            }
            if (!Edges[1].IsEmpty)
            {
                var x = X!.Get();
                dw = Tensor.Full([outF, inF], 0, grad.DType, grad.Device);
                using var dw3 = dw.AsStridedAlias([1, outF, inF], [(long)outF * inF, inF, 1], 0);
                using var x3 = Rows3(x, rows, inF);
                if (work) grad.Backend.Matmul(dy3, x3, dw3, transA: true, transB: false, accumulate: false);
            }
            if (hasBias && !Edges[2].IsEmpty)
            {
                using var g2 = dy3.AsStridedAlias([rows, outF], [outF, 1], dy3._offset);
                db = g2.Sum(0);
            }
            return hasBias ? [dx, dw, db] : [dx, dw];
        }
    }
}
