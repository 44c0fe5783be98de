using Framework.Autograd;
using Framework.Backends;

namespace Framework.Nn;

public static partial class F
{
    // Every pooling function also accepts an unbatched [C, H, W] input, as PyTorch does.

    /// <summary>Max pooling over [N, C, H, W] with square windows; stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool2d(input, (kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding), (dilation, dilation), ceilMode);

    /// <summary>
    /// Max pooling (PyTorch's <c>max_pool2d</c>) with (height, width) window, stride (default: the window),
    /// implicit -inf padding (at most half the window) and dilation. The gradient goes to the first
    /// maximum of each window; NaN counts as the maximum.
    /// </summary>
    public static Tensor MaxPool2d(Tensor input, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? dilation = null, bool ceilMode = false)
    {
        if (input is { Dim: 3 }) return Unbatched(input, x => MaxPool2d(x, kernelSize, stride, padding, dilation, ceilMode));
        var g = PoolGeometry("MaxPool2d", input, kernelSize, stride ?? kernelSize, padding ?? (0, 0), dilation ?? (1, 1), ceilMode);
        using var x = input.ContiguousOwned();
        var y = input.EmptyLike([g.N, g.C, g.OH, g.OW]);
        using var unscoped = TensorScope.Suppress();
        var indices = Tensor.Empty([g.N, g.C, g.OH, g.OW], DType.Int64, input.Device);
        // The indices belong to no scope (the node will own them), so a failing kernel must not leak them.
        try { if (y.Numel > 0) input.Backend.MaxPool2d(x, y, indices, g); }
        catch { indices.Dispose(); throw; }
        if (!Engine.NeedsGrad(input))
        {
            indices.Dispose();
            return y;
        }
        return Engine.Record(new MaxPool2dNode(g, indices), y, input);
    }

    /// <summary>Average pooling over [N, C, H, W] with square windows; stride defaults to the kernel size.</summary>
    public static Tensor AvgPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPool2d(input, (kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad, divisorOverride);

    /// <summary>
    /// Average pooling (PyTorch's <c>avg_pool2d</c>) with implicit zero padding (at most half the window).
    /// The divisor is the window clipped to the padded input when <paramref name="countIncludePad"/>
    /// (the default), the window clipped to the input otherwise, or <paramref name="divisorOverride"/>.
    /// </summary>
    public static Tensor AvgPool2d(Tensor input, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
    {
        if (input is { Dim: 3 }) return Unbatched(input, x => AvgPool2d(x, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride));
        if (divisorOverride is { } dv && dv <= 0) throw new ArgumentException($"AvgPool2d expected a positive divisorOverride, got {dv}");
        var g = PoolGeometry("AvgPool2d", input, kernelSize, stride ?? kernelSize, padding ?? (0, 0), (1, 1), ceilMode)
            with { CountIncludePad = countIncludePad, DivisorOverride = divisorOverride ?? 0 };
        return AvgPoolCore(input, g);
    }

    /// <summary>Adaptive average pooling to a square output size.</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, int outputSize) => AdaptiveAvgPool2d(input, (outputSize, outputSize));

    /// <summary>
    /// Adaptive average pooling (PyTorch's <c>adaptive_avg_pool2d</c>) of [N, C, H, W] to [N, C, OH, OW]:
    /// output row i averages input rows [floor(i H / OH), ceil((i + 1) H / OH)), and the same for columns.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, (int H, int W) outputSize)
    {
        if (input is { Dim: 3 }) return Unbatched(input, x => AdaptiveAvgPool2d(x, outputSize));
        CheckPoolInput("AdaptiveAvgPool2d", input);
        if (outputSize.H <= 0 || outputSize.W <= 0)
            throw new ArgumentException($"AdaptiveAvgPool2d expected a positive output size, got ({outputSize.H}, {outputSize.W})");
        var s = input._shape;
        if (s[2] == 0 || s[3] == 0)
            throw new ArgumentException($"AdaptiveAvgPool2d expected non-empty spatial dims, got input {Shapes.Format(s)}");
        var g = new Pool2dGeometry(s[0], s[1], s[2], s[3], outputSize.H, outputSize.W, 0, 0, 1, 1, 0, 0, 1, 1, Adaptive: true);
        CheckPlanes("AdaptiveAvgPool2d", g);
        return AvgPoolCore(input, g);
    }

    private static Tensor AvgPoolCore(Tensor input, Pool2dGeometry g)
    {
        using var x = input.ContiguousOwned();
        var y = input.EmptyLike([g.N, g.C, g.OH, g.OW]);
        if (y.Numel > 0) input.Backend.AvgPool2d(x, y, g);
        return Engine.NeedsGrad(input) ? Engine.Record(new AvgPool2dNode(g), y, input) : y;
    }

    private static void CheckPoolInput(string op, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.CheckFloatingPoint(op);
        if (input.Dim != 4)
            throw new ArgumentException($"{op} expected 3D (C, H, W) or 4D (N, C, H, W) input, got {input.Dim}D input {Shapes.Format(input._shape)}");
    }

    /// <summary>PyTorch's pooling output size: floor (or ceil) of the window count, where a ceil-mode window must start inside the input or its left padding.</summary>
    private static int PoolOutputSize(int input, int k, int s, int p, int d, bool ceil)
    {
        long numerator = (long)input + 2 * p - (long)d * (k - 1) - 1 + (ceil ? s - 1 : 0);
        long o = (numerator >= 0 ? numerator / s : -((-numerator + s - 1) / s)) + 1;
        if (ceil && (o - 1) * s >= (long)input + p) o--;
        // o <= input + 2p, which PoolGeometry checked fits in an int; a huge dilation makes o very
        // negative, which a plain cast could wrap into a positive size.
        return o < 1 ? 0 : (int)o;
    }

    private static Pool2dGeometry PoolGeometry(string op, Tensor input, (int H, int W) k, (int H, int W) s, (int H, int W) p, (int H, int W) d, bool ceil)
    {
        CheckPoolInput(op, input);
        if (k.H <= 0 || k.W <= 0) throw new ArgumentException($"{op} expected a positive kernel size, got ({k.H}, {k.W})");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentException($"{op} expected a positive stride, got ({s.H}, {s.W})");
        if (d.H <= 0 || d.W <= 0) throw new ArgumentException($"{op} expected a positive dilation, got ({d.H}, {d.W})");
        if (p.H < 0 || p.W < 0 || p.H > k.H / 2 || p.W > k.W / 2)
            throw new ArgumentException($"{op}: padding should be between 0 and half the kernel size, got padding ({p.H}, {p.W}) for kernel ({k.H}, {k.W})");
        var sh = input._shape;
        if (sh[2] + 2L * p.H > int.MaxValue || sh[3] + 2L * p.W > int.MaxValue)
            throw new ArgumentException(
                $"{op}: the padded input {sh[2] + 2L * p.H}x{sh[3] + 2L * p.W} must fit in int sizes (at most {int.MaxValue}); input {Shapes.Format(sh)}, padding ({p.H}, {p.W})");
        int oh = PoolOutputSize(sh[2], k.H, s.H, p.H, d.H, ceil), ow = PoolOutputSize(sh[3], k.W, s.W, p.W, d.W, ceil);
        if (oh < 1 || ow < 1)
            throw new ArgumentException(
                $"{op}: kernel ({k.H}, {k.W}) with dilation ({d.H}, {d.W}) is larger than the padded input: input {Shapes.Format(sh)} with padding ({p.H}, {p.W}) gives output size {oh}x{ow}");
        var g = new Pool2dGeometry(sh[0], sh[1], sh[2], sh[3], oh, ow, k.H, k.W, s.H, s.W, p.H, p.W, d.H, d.W);
        CheckPlanes(op, g);
        CheckWindowsTouchInput(op, "row", sh[2], oh, k.H, s.H, p.H, d.H);
        CheckWindowsTouchInput(op, "column", sh[3], ow, k.W, s.W, p.W, d.W);
        return g;
    }

    /// <summary>The backends count planes (N * C) and index within a plane (H * W, OH * OW) with ints; checked here, before any work.</summary>
    private static void CheckPlanes(string op, in Pool2dGeometry g)
    {
        Shapes.ToSize((long)g.N * g.C, op, $"the number of planes N * C ({g.N} * {g.C})");
        Shapes.ToSize((long)g.H * g.W, op, $"the input plane size H * W ({g.H} * {g.W})");
        Shapes.ToSize((long)g.OH * g.OW, op, $"the output plane size OH * OW ({g.OH} * {g.OW})");
        Shapes.Numel([g.N, g.C, g.OH, g.OW], op + " output");
    }

    /// <summary>
    /// With dilation a window's taps can all fall in the padding (input size 1, kernel 2, dilation 2,
    /// padding 1: taps at -1 and 1). Such a window has no input element: its argmax would point outside
    /// the plane and the backward would scatter into another plane or past the end of the gradient
    /// (a heap overwrite, found by the property tests). PyTorch returns -inf with that invalid index;
    /// we refuse the geometry before allocating anything.
    /// </summary>
    private static void CheckWindowsTouchInput(string op, string what, int input, int outputs, int k, int s, int p, int d)
    {
        if (d == 1) return; // contiguous taps with padding <= k / 2 always reach the input
        for (int o = 0; o < outputs; o++)
        {
            int start = o * s - p;
            bool touches = false;
            for (int t = 0; t < k && !touches; t++) touches = start + t * d >= 0 && start + t * d < input;
            if (!touches)
                throw new ArgumentException(
                    $"{op}: the window of output {what} {o} lies wholly in the padding (input size {input}, kernel {k}, stride {s}, padding {p}, dilation {d}); use less padding or dilation");
        }
    }

    /// <summary>Backward of max pooling: the gradient is scatter-added into each plane at the saved argmax positions.</summary>
    private sealed class MaxPool2dNode(Pool2dGeometry g, Tensor indices) : Node
    {
        public override string Name => "MaxPool2DWithIndicesBackward";

        internal override Tensor?[] Apply(Tensor grad)
        {
            var dx = Tensor.Full([g.N, g.C, g.H, g.W], 0, grad.DType, grad.Device);
            if (grad.Numel == 0) return [dx];
            using var dy = grad.ContiguousOwned();
            int planes = g.N * g.C, l = g.OH * g.OW, hw = g.H * g.W;
            using var dst = dx.AsStridedAlias([planes, hw], [hw, 1], 0);
            using var idx = indices.AsStridedAlias([planes, l], [l, 1], 0);
            using var src = dy.AsStridedAlias([planes, l], [l, 1], dy._offset);
            grad.Backend.ScatterAdd(dst, 1, idx, src);
            return [dx];
        }

        internal override void ReleaseOwned() => indices.Dispose();
    }

    private sealed class AvgPool2dNode(Pool2dGeometry g) : Node
    {
        public override string Name => g.Adaptive ? "AdaptiveAvgPool2DBackward" : "AvgPool2DBackward";

        internal override Tensor?[] Apply(Tensor grad)
        {
            var dx = grad.EmptyLike([g.N, g.C, g.H, g.W]);
            using var dy = grad.ContiguousOwned();
            if (dx.Numel > 0) grad.Backend.AvgPool2dBackward(dy, dx, g);
            return [dx];
        }
    }
}
