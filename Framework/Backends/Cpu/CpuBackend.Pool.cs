using System.Numerics;
using System.Runtime.CompilerServices;

namespace Framework.Backends.Cpu;

// Pooling, one (n, c) plane per work item. Window bounds follow PyTorch's CPU kernels exactly, so
// padding, ceil mode and count_include_pad give the same divisors and argmax positions. Plane bodies
// skip tiered compilation (AggressiveOptimization): they run a few times per step, too rarely to be promoted early.
internal sealed unsafe partial class CpuBackend
{
    /// <summary>Input rows [Start, End) of output row <paramref name="o"/> and the divisor's share (see AvgWindow).</summary>
    private static (int Start, int End, int PaddedSize) AvgRange(int o, int input, int output, int k, int s, int p, bool adaptive)
    {
        if (adaptive)
        {
            // start = floor(o * in / out), end = ceil((o + 1) * in / out)
            int a = (int)((long)o * input / output), b = (int)(((long)(o + 1) * input + output - 1) / output);
            return (a, b, b - a);
        }
        int start = o * s - p;
        int end = Math.Min(start + k, input + p);
        int padded = end - start;
        return (Math.Max(start, 0), Math.Min(end, input), padded);
    }

    private static int Divisor(in Pool2dGeometry g, int hs, int he, int ws, int we, int paddedH, int paddedW)
    {
        if (g.DivisorOverride != 0) return g.DivisorOverride;
        return g.CountIncludePad && !g.Adaptive ? paddedH * paddedW : (he - hs) * (we - ws);
    }

    private static void ForEachPlane(in Pool2dGeometry g, long workPerPlane, Action<int> body)
    {
        int planes = g.N * g.C;
        if (planes > 1 && planes * workPerPlane >= StridedLoop.ParallelThreshold) Parallel.For(0, planes, body);
        else for (int p = 0; p < planes; p++) body(p);
    }

    public override void MaxPool2d(Tensor x, Tensor y, Tensor indices, in Pool2dGeometry geometry)
    {
        if (x.DType == DType.Float32) MaxPoolAs<float>(x, y, indices, geometry);
        else MaxPoolAs<double>(x, y, indices, geometry);
    }

    private static void MaxPoolAs<T>(Tensor x, Tensor y, Tensor indices, Pool2dGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        long* pi = Ptr<long>(indices);
        long inPlane = (long)g.H * g.W, outPlane = (long)g.OH * g.OW;
        ForEachPlane(g, outPlane * g.KH * g.KW, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p) =>
        {
            T* xp = px + p * inPlane;
            for (int oh = 0; oh < g.OH; oh++)
            {
                int hs = oh * g.SH - g.PH, he = Math.Min(hs + (g.KH - 1) * g.DH + 1, g.H);
                while (hs < 0) hs += g.DH;
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int ws = ow * g.SW - g.PW, we = Math.Min(ws + (g.KW - 1) * g.DW + 1, g.W);
                    while (ws < 0) ws += g.DW;
                    // As PyTorch: start at -inf with the first tap's index; a strictly larger value or a NaN takes over.
                    long best = (long)hs * g.W + ws;
                    T max = T.NegativeInfinity;
                    for (int h = hs; h < he; h += g.DH)
                        for (int w = ws; w < we; w += g.DW)
                        {
                            long at = (long)h * g.W + w;
                            T v = xp[at];
                            if (v > max || T.IsNaN(v)) { max = v; best = at; }
                        }
                    long o = p * outPlane + (long)oh * g.OW + ow;
                    py[o] = max;
                    pi[o] = best;
                }
            }
        });
    }

    public override void AvgPool2d(Tensor x, Tensor y, in Pool2dGeometry geometry)
    {
        if (x.DType == DType.Float32) AvgPoolAs<float>(x, y, geometry, backward: false);
        else AvgPoolAs<double>(x, y, geometry, backward: false);
    }

    public override void AvgPool2dBackward(Tensor dy, Tensor dx, in Pool2dGeometry geometry)
    {
        if (dy.DType == DType.Float32) AvgPoolAs<float>(dx, dy, geometry, backward: true);
        else AvgPoolAs<double>(dx, dy, geometry, backward: true);
    }

    /// <summary>Forward: y = window mean of x. Backward: x (holding dx) is zeroed, then each y (holding dy) / divisor is added over its window.</summary>
    private static void AvgPoolAs<T>(Tensor x, Tensor y, Pool2dGeometry g, bool backward) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        long inPlane = (long)g.H * g.W, outPlane = (long)g.OH * g.OW;
        ForEachPlane(g, outPlane * Math.Max(1, g.KH * g.KW), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p) =>
        {
            T* xp = px + p * inPlane;
            if (backward) new Span<T>(xp, checked((int)inPlane)).Clear();
            for (int oh = 0; oh < g.OH; oh++)
            {
                var (hs, he, ph) = AvgRange(oh, g.H, g.OH, g.KH, g.SH, g.PH, g.Adaptive);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    var (ws, we, pw) = AvgRange(ow, g.W, g.OW, g.KW, g.SW, g.PW, g.Adaptive);
                    T div = T.CreateChecked(Divisor(g, hs, he, ws, we, ph, pw));
                    long o = p * outPlane + (long)oh * g.OW + ow;
                    if (backward)
                    {
                        T share = py[o] / div;
                        for (int h = hs; h < he; h++)
                            for (int w = ws; w < we; w++) xp[(long)h * g.W + w] += share;
                    }
                    else
                    {
                        T sum = T.Zero;
                        for (int h = hs; h < he; h++)
                            for (int w = ws; w < we; w++) sum += xp[(long)h * g.W + w];
                        py[o] = sum / div;
                    }
                }
            }
        });
    }
}
