using System.Buffers;
using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// The passes BatchNorm is built from. Every pass walks the flat NCHW tensor in memory order, cut
/// into equal ranges (so C = 3 still keeps every core busy and the hardware prefetchers see long
/// sequential streams even when S is small, e.g. 14x14); each contiguous run looks up its channel.
/// Reductions keep per-range, per-channel partials and merge them per channel in range order
/// (Chan's formula for moments), so the result depends on the shape only, not on the threads.
/// </summary>
internal static unsafe partial class NormKernels
{
    /// <summary>Per-channel mean and biased variance (double) over all n and s.</summary>
    private static void ChannelMoments<T>(T* x, int n, int c, long s, double* mean, double* var)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long total = (long)n * c * s;
        int items = NormParallel.ReductionItems(total);
        Moments[] parts = ArrayPool<Moments>.Shared.Rent(items * c);
        try
        {
            fixed (Moments* pp = parts)
            {
                Moments* p = pp; // a fixed local cannot be captured by the lambda; a copy can
                NormParallel.For(items, total, item =>
                {
                    Moments* part = p + (long)item * c;
                    new Span<Moments>(part, c).Clear();
                    long e = total * item / items, end = total * (item + 1) / items;
                    while (e < end)
                    {
                        // One contiguous run: the rest of plane (n, ch), or up to the item's end.
                        long plane = e / s, len = Math.Min(s - (e - plane * s), end - e);
                        NormMoments.AccumulateStats(x + e, len, ref part[plane % c]);
                        e += len;
                    }
                });
                for (int ch = 0; ch < c; ch++)
                {
                    Moments acc = p[ch];
                    for (int it = 1; it < items; it++) acc.Merge(p[(long)it * c + ch]);
                    mean[ch] = acc.Mean;
                    var[ch] = acc.Variance;
                }
            }
        }
        finally { ArrayPool<Moments>.Shared.Return(parts); }
    }

    /// <summary>Per-channel sg = sum dy and sgd = sum dy (x - mean[c]) in double.</summary>
    private static void ChannelGradSums<T>(T* x, T* dy, int n, int c, long s, T* mean, double* sg, double* sgd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long total = (long)n * c * s;
        int items = NormParallel.ReductionItems(total);
        double[] parts = ArrayPool<double>.Shared.Rent(2 * items * c);
        try
        {
            fixed (double* pp = parts)
            {
                double* p = pp;
                NormParallel.For(items, total, item =>
                {
                    double* part = p + 2L * item * c;
                    new Span<double>(part, 2 * c).Clear();
                    long e = total * item / items, end = total * (item + 1) / items;
                    while (e < end)
                    {
                        long plane = e / s, len = Math.Min(s - (e - plane * s), end - e);
                        int ch = (int)(plane % c);
                        NormMoments.AccumulateGradSums(x + e, dy + e, len, mean[ch], ref part[ch], ref part[c + ch]);
                        e += len;
                    }
                });
                for (int ch = 0; ch < c; ch++)
                {
                    double a = 0, b = 0;
                    for (int it = 0; it < items; it++) { a += p[2L * it * c + ch]; b += p[2L * it * c + c + ch]; }
                    sg[ch] = a;
                    sgd[ch] = b;
                }
            }
        }
        finally { ArrayPool<double>.Shared.Return(parts); }
    }

    /// <summary>y = ((x - k0) - k1) k2 + k3 with the four constants k[4c..4c+3] of each element's channel.</summary>
    private static void ChannelApply<T>(T* x, T* y, int n, int c, long s, T* k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long total = (long)n * c * s;
        int items = NormParallel.ElementwiseItems(total);
        NormParallel.For(items, total, item =>
        {
            long e = total * item / items, end = total * (item + 1) / items;
            while (e < end)
            {
                long plane = e / s, len = Math.Min(s - (e - plane * s), end - e);
                T* q = k + 4 * (int)(plane % c);
                NormLoops.Apply(x + e, y + e, (nint)len, q[0], q[1], q[2], q[3]);
                e += len;
            }
        });
    }

    /// <summary>dx = k1 dy + k2 (x - k0) + k3 per channel; with x == null only dx = k1 dy.</summary>
    private static void ChannelDx<T>(T* x, T* dy, T* dx, int n, int c, long s, T* k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long total = (long)n * c * s;
        int items = NormParallel.ElementwiseItems(total);
        NormParallel.For(items, total, item =>
        {
            long e = total * item / items, end = total * (item + 1) / items;
            while (e < end)
            {
                long plane = e / s, len = Math.Min(s - (e - plane * s), end - e);
                T* q = k + 4 * (int)(plane % c);
                if (x == null) NormLoops.Scale(dy + e, dx + e, (nint)len, q[1]);
                else NormLoops.Dx(x + e, dy + e, dx + e, (nint)len, q[0], q[1], q[2], q[3]);
                e += len;
            }
        });
    }
}
