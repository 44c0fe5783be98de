using Framework.Autograd;
using Framework.Backends;

namespace Framework.Nn;

public static partial class F
{
    /// <summary>
    /// 2-D cross-correlation (PyTorch's <c>conv2d</c>) of input [N, C, H, W] (or unbatched [C, H, W]) with weight
    /// [OutC, C / groups, KH, KW] plus an optional bias [OutC], with zero padding. Output
    /// [N, OutC, OH, OW], OH = (H + 2 padding - dilation (KH - 1) - 1) / stride + 1.
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with separate (height, width) stride, padding and dilation; see the square overload.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1)
    {
        if (input is { Dim: 3 }) return Unbatched(input, x => Conv2d(x, weight, bias, stride, padding, dilation, groups));
        var g = ConvGeometry(input, weight, bias, stride, padding, dilation, groups);
        using var x = input.ContiguousOwned();
        using var w = weight.ContiguousOwned();
        using var b = bias?.ContiguousOwned();
        var y = input.EmptyLike([g.N, g.OutC, g.OH, g.OW]);
        if (y.Numel > 0) input.Backend.Conv2d(x, w, b, y, g);
        var inputs = bias is null ? new[] { input, weight } : [input, weight, bias];
        if (!Engine.NeedsGrad(inputs)) return y;
        var node = new Conv2dNode(g, bias is not null);
        node.X = node.Save(x);
        node.W = node.Save(w);
        return Engine.Record(node, y, inputs);
    }

    /// <summary>Runs a batched op on an unbatched [C, H, W] input as a batch of one (PyTorch accepts both).</summary>
    private static Tensor Unbatched(Tensor input, Func<Tensor, Tensor> batched)
    {
        using var x = input.Unsqueeze(0);
        using var y = batched(x);
        return y.Squeeze(0);
    }

    /// <summary>Validates a convolution's arguments (before any work) and returns its geometry.</summary>
    private static Conv2dGeometry ConvGeometry(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, int groups)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        input.CheckFloatingPoint("Conv2d");
        input.CheckSameKind(weight, "Conv2d");
        if (bias is not null) input.CheckSameKind(bias, "Conv2d");
        if (input.Dim != 4)
            throw new ArgumentException($"Conv2d expected 3D (C, H, W) or 4D (N, C, H, W) input, got {input.Dim}D input {Shapes.Format(input._shape)}");
        if (weight.Dim != 4)
            throw new ArgumentException($"Conv2d expected 4D weight (OutC, C/groups, KH, KW), got {weight.Dim}D weight {Shapes.Format(weight._shape)}");
        if (stride.H <= 0 || stride.W <= 0) throw new ArgumentException($"Conv2d expected a positive stride, got ({stride.H}, {stride.W})");
        if (dilation.H <= 0 || dilation.W <= 0) throw new ArgumentException($"Conv2d expected a positive dilation, got ({dilation.H}, {dilation.W})");
        if (padding.H < 0 || padding.W < 0) throw new ArgumentException($"Conv2d expected a non-negative padding, got ({padding.H}, {padding.W})");
        if (groups <= 0) throw new ArgumentException($"Conv2d expected groups > 0, got {groups}");
        int n = input._shape[0], c = input._shape[1], h = input._shape[2], wd = input._shape[3];
        int outC = weight._shape[0], kh = weight._shape[2], kw = weight._shape[3];
        if (outC % groups != 0)
            throw new ArgumentException($"Conv2d expected the weight's output channels ({outC}) to be divisible by groups ({groups}), weight {Shapes.Format(weight._shape)}");
        if (weight._shape[1] * groups != c)
            throw new ArgumentException(
                $"Conv2d: input {Shapes.Format(input._shape)} has {c} channels, but weight {Shapes.Format(weight._shape)} with groups={groups} expects {weight._shape[1] * groups} channels");
        if (kh == 0 || kw == 0 || outC == 0) throw new ArgumentException($"Conv2d expected a non-empty weight, got {Shapes.Format(weight._shape)}");
        if (bias is not null && (bias.Dim != 1 || bias._shape[0] != outC))
            throw new ArgumentException($"Conv2d expected bias of shape [{outC}] (the weight's output channels), got {Shapes.Format(bias._shape)}");
        // All in long: dilation 2^30 or padding near int.MaxValue must not wrap into a "valid" negative size.
        long effH = (long)dilation.H * (kh - 1) + 1, effW = (long)dilation.W * (kw - 1) + 1;
        long padH = h + 2L * padding.H, padW = wd + 2L * padding.W;
        if (effH > padH || effW > padW)
            throw new ArgumentException(
                $"Conv2d: kernel size {kh}x{kw} (dilated {effH}x{effW}) is larger than the padded input {padH}x{padW} " +
                $"(input {h}x{wd} plus padding ({padding.H}, {padding.W}))");
        // The backends index the padded frame and the column matrix [C*KH*KW, OH*OW] with ints.
        if (padH > int.MaxValue || padW > int.MaxValue)
            throw new ArgumentException($"Conv2d: the padded input {padH}x{padW} must fit in int sizes (at most {int.MaxValue}); input {h}x{wd}, padding ({padding.H}, {padding.W})");
        var g = new Conv2dGeometry(n, c, h, wd, outC, kh, kw, stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        long colRows = (long)c * kh * kw, colCols = (long)g.OH * g.OW;
        if (colRows > int.MaxValue || colCols > int.MaxValue)
            throw new ArgumentException(
                $"Conv2d: the column matrix of one sample, C*KH*KW = {colRows} by OH*OW = {colCols}, must have int sizes (at most {int.MaxValue} each)");
        Shapes.MulElements(colRows, colCols, "Conv2d", "the column matrix of one sample (C*KH*KW * OH*OW)");
        Shapes.Numel([n, outC, g.OH, g.OW], "Conv2d output");
        return g;
    }

    /// <summary>Backward of Conv2d: inputs [input, weight, bias?]; one backend call computes the gradients the edges need.</summary>
    private sealed class Conv2dNode(Conv2dGeometry geometry, bool hasBias) : Node
    {
        public SavedTensor? X, W;
        public override string Name => "ConvolutionBackward";

        internal override Tensor?[] Apply(Tensor grad)
        {
            var x = X!.Get();
            var w = W!.Get();
            using var dy = grad.ContiguousOwned();
            var dx = Edges[0].IsEmpty ? null : x.EmptyLike(x._shape);
            var dw = Edges[1].IsEmpty ? null : w.EmptyLike(w._shape);
            var db = !hasBias || Edges[2].IsEmpty ? null : w.EmptyLike([geometry.OutC]);
            if (geometry.N == 0)
            {
                // Nothing flowed through: the weight and bias gradients are zero sums.
                dw?.Backend.Fill(dw, 0);
                db?.Backend.Fill(db, 0);
            }
            else x.Backend.Conv2dBackward(x, w, dy, dx, dw, db, geometry);
            return hasBias ? [dx, dw, db] : [dx, dw];
        }
    }
}
