using Framework.Nn;
using static Framework.Onnx.OnnxGraphBuilder;

namespace Framework.Onnx;

/// <summary>
/// Walks a layer in execution order, running each leaf layer on the current value and recording its
/// ONNX form (see <see cref="OnnxExport"/> for why layers and not the tape).
/// </summary>
internal sealed class OnnxLayerTracer(OnnxGraphBuilder g, Dictionary<Tensor, string> names, Dictionary<Module, string> paths)
{
    /// <summary>Runs <paramref name="layer"/> on <paramref name="x"/> (whose graph value is <paramref name="xName"/>) and returns the result and its graph value.</summary>
    public (Tensor Value, string Name) Trace(Layer layer, Tensor x, string xName)
    {
        if (layer is Sequential seq)
        {
            var current = x;
            var currentName = xName;
            for (int i = 0; i < seq.Count; i++)
            {
                var (next, nextName) = Trace(seq[i], current, currentName);
                if (!ReferenceEquals(current, x) && !ReferenceEquals(current, next)) current.Dispose();
                (current, currentName) = (next, nextName);
            }
            return (current, currentName);
        }
        if (!IsKnown(layer)) return OnnxOpTracer.Trace(g, names, layer, PathOf(layer), x, xName);
        var y = layer.Forward(x);
        return (y, Emit(layer, x, xName));
    }

    private static bool IsKnown(Layer layer) => layer is Conv2d or Linear or BatchNorm2d or InstanceNorm2d or GroupNorm or LayerNorm
        or MaxPool2d or AvgPool2d or AdaptiveAvgPool2d or ReLU or LeakyReLU or Sigmoid or Tanh or Dropout or Flatten;

    private string PathOf(Module m) => paths.TryGetValue(m, out var p) && p.Length > 0 ? p : m.GetType().Name;

    private string Param(Tensor t) => g.Initializer(names.TryGetValue(t, out var n) ? n : throw new InvalidOperationException("ONNX export: a parameter is not registered in the module's state dict"), t);

    private string Emit(Layer layer, Tensor x, string xName)
    {
        var at = PathOf(layer);
        switch (layer)
        {
            case Conv2d c:
            {
                var inputs = new List<string> { xName, Param(c.Weight) };
                if (c.Bias is { } b) inputs.Add(Param(b));
                return g.Node("Conv", at, inputs,
                    Ints("kernel_shape", c.KernelSize.H, c.KernelSize.W),
                    Ints("strides", c.Stride.H, c.Stride.W),
                    Ints("pads", c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W),
                    Ints("dilations", c.Dilation.H, c.Dilation.W),
                    Int("group", c.Groups));
            }
            case Linear l:
            {
                if (x.Dim == 2)
                {
                    var inputs = new List<string> { xName, Param(l.Weight) };
                    if (l.Bias is { } b) inputs.Add(Param(b));
                    return g.Node("Gemm", at, inputs, Int("transB", 1));
                }
                // Gemm is 2-D only; other ranks multiply by the transposed weight and broadcast the bias.
                var wt = g.Node("Transpose", at, [Param(l.Weight)], Ints("perm", 1, 0));
                var y = g.Node("MatMul", at, [xName, wt]);
                return l.Bias is { } bias ? g.Node("Add", at, [y, Param(bias)]) : y;
            }
            case BatchNorm2d bn:
            {
                if (bn.RunningMean is null || bn.RunningVar is null)
                    throw Unsupported(layer, at, "BatchNorm2d without running statistics (trackRunningStats: false) normalizes with batch statistics in eval, which ONNX BatchNormalization does not express");
                return BatchNormalization(bn, at, xName, bn.RunningMean, bn.RunningVar);
            }
            case InstanceNorm2d inorm:
            {
                if (x.Dim != 4) throw Unsupported(layer, at, $"InstanceNorm2d export expects 4-D (N, C, H, W) input, got {x.Dim}-D");
                // In eval with tracked statistics PyTorch's InstanceNorm normalizes with the running ones: BatchNormalization.
                if (inorm.RunningMean is { } rm && inorm.RunningVar is { } rv)
                    return BatchNormalization(inorm, at, xName, rm, rv);
                var (scale, bias) = AffineOrIdentity(inorm, at, inorm.Weight, inorm.Bias, [inorm.NumFeatures]);
                return g.Node("InstanceNormalization", at, [xName, scale, bias], Float("epsilon", inorm.Eps));
            }
            case GroupNorm gn:
                return GroupNormalization(gn, at, x, xName);
            case LayerNorm ln:
            {
                var (scale, bias) = AffineOrIdentity(ln, at, ln.Weight, ln.Bias, ln.NormalizedShape);
                return g.Node("LayerNormalization", at, [xName, scale, bias],
                    Int("axis", -ln.NormalizedShape.Length), Float("epsilon", ln.Eps));
            }
            case MaxPool2d mp:
                return g.Node("MaxPool", at, [xName],
                    Ints("kernel_shape", mp.KernelSize, mp.KernelSize),
                    Ints("strides", mp.Stride, mp.Stride),
                    Ints("pads", mp.Padding, mp.Padding, mp.Padding, mp.Padding),
                    Ints("dilations", mp.Dilation, mp.Dilation),
                    Int("ceil_mode", mp.CeilMode ? 1 : 0));
            case AvgPool2d ap:
                if (ap.DivisorOverride is not null)
                    throw Unsupported(layer, at, "AvgPool2d with divisorOverride has no ONNX AveragePool form");
                return g.Node("AveragePool", at, [xName],
                    Ints("kernel_shape", ap.KernelSize, ap.KernelSize),
                    Ints("strides", ap.Stride, ap.Stride),
                    Ints("pads", ap.Padding, ap.Padding, ap.Padding, ap.Padding),
                    Int("ceil_mode", ap.CeilMode ? 1 : 0),
                    Int("count_include_pad", ap.CountIncludePad ? 1 : 0));
            case AdaptiveAvgPool2d aap:
            {
                if (aap.OutputSize == (1, 1)) return g.Node("GlobalAveragePool", at, [xName]);
                int h = x.Size(-2), w = x.Size(-1);
                if (h % aap.OutputSize.H != 0 || w % aap.OutputSize.W != 0)
                    throw Unsupported(layer, at, $"AdaptiveAvgPool2d to {aap.OutputSize} from {h}x{w} has uneven windows, which ONNX AveragePool does not express");
                int kh = h / aap.OutputSize.H, kw = w / aap.OutputSize.W;
                // Exact only for the traced spatial size: the windows are fixed in the file.
                return g.Node("AveragePool", at, [xName], Ints("kernel_shape", kh, kw), Ints("strides", kh, kw));
            }
            case ReLU:
                return g.Node("Relu", at, [xName]);
            case LeakyReLU lr:
                return g.Node("LeakyRelu", at, [xName], Float("alpha", lr.NegativeSlope));
            case Sigmoid:
                return g.Node("Sigmoid", at, [xName]);
            case Tanh:
                return g.Node("Tanh", at, [xName]);
            case Dropout:
                return xName; // identity in eval: dropped from the graph
            case Flatten f:
                return FlattenForm(f, at, x, xName);
            default:
                throw Unsupported(layer, at, "no ONNX form is known for this layer type");
        }
    }

    private string BatchNormalization(NormBase norm, string at, string xName, Tensor mean, Tensor var)
    {
        var (scale, bias) = AffineOrIdentity(norm, at, norm.Weight, norm.Bias, [norm.NumFeatures]);
        return g.Node("BatchNormalization", at, [xName, scale, bias, Param(mean), Param(var)], Float("epsilon", norm.Eps));
    }

    /// <summary>The layer's weight and bias, or constant ones and zeros (named under the layer's path) where it has none.</summary>
    private (string Scale, string Bias) AffineOrIdentity(Module m, string at, Tensor? weight, Tensor? bias, int[] shape) =>
        (weight is not null ? Param(weight) : g.FloatConstant($"{at}.onnx_ones", shape, 1f),
         bias is not null ? Param(bias) : g.FloatConstant($"{at}.onnx_zeros", shape, 0f));

    /// <summary>
    /// GroupNormalization arrived in opset 18 (with per-group scale, changed in 21), so opset 17 gets
    /// the decomposition PyTorch's exporter uses: InstanceNormalization over (N, G, rest), reshaped
    /// back, then the per-channel affine.
    /// </summary>
    private string GroupNormalization(GroupNorm gn, string at, Tensor x, string xName)
    {
        if (x.Dim < 2) throw Unsupported(gn, at, $"GroupNorm export expects (N, C, ...) input, got {x.Dim}-D");
        var grouped = g.Node("Reshape", at, [xName, g.Int64Constant([0, gn.NumGroups, -1])]);
        var normed = g.Node("InstanceNormalization", at,
            [grouped, g.FloatConstant($"{at}.onnx_group_ones", [gn.NumGroups], 1f), g.FloatConstant($"{at}.onnx_group_zeros", [gn.NumGroups], 0f)],
            Float("epsilon", gn.Eps));
        var shape = g.Node("Shape", at, [xName]);
        var y = g.Node("Reshape", at, [normed, shape]);
        if (gn.Weight is null && gn.Bias is null) return y;
        // (C) -> (C, 1, ..., 1) so the affine broadcasts over the spatial dims.
        var affineShape = g.Int64Constant([gn.NumChannels, .. Enumerable.Repeat(1L, x.Dim - 2)]);
        if (gn.Weight is { } w) y = g.Node("Mul", at, [y, g.Node("Reshape", at, [Param(w), affineShape])]);
        if (gn.Bias is { } b) y = g.Node("Add", at, [y, g.Node("Reshape", at, [Param(b), affineShape])]);
        return y;
    }

    private string FlattenForm(Flatten f, string at, Tensor x, string xName)
    {
        int rank = x.Dim;
        if (rank == 0) return xName;
        int start = f.StartDim < 0 ? f.StartDim + rank : f.StartDim;
        int end = f.EndDim < 0 ? f.EndDim + rank : f.EndDim;
        if (start == 1 && end == rank - 1) return g.Node("Flatten", at, [xName], Int("axis", 1));
        // Dims before the range are copied (0, which keeps a dynamic batch), the range becomes -1,
        // dims after it are fixed at their traced sizes.
        var shape = new List<long>();
        for (int i = 0; i < start; i++) shape.Add(0);
        shape.Add(-1);
        for (int i = end + 1; i < rank; i++) shape.Add(x.Size(i));
        return g.Node("Reshape", at, [xName, g.Int64Constant([.. shape])]);
    }

    internal static NotSupportedException Unsupported(Module m, string at, string why) =>
        new($"ONNX export: {m.GetType().Name} at '{at}' cannot be exported: {why}");
}
