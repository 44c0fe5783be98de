using System.Buffers;
using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// The passes BatchNorm is built from. Reductions cut each channel's M = N*S elements into
/// <see cref="NormParallel.PiecesPerChannel"/> pieces (so C = 3 still keeps every core busy) and
/// merge the pieces per channel in a fixed order; elementwise passes cut the flat tensor into
/// equal ranges and look up the channel of each contiguous run.
/// </summary>
internal static unsafe partial class NormKernels
{
    /// <summary>Per-channel mean and biased variance (double) over all n and s.</summary>
    private static void ChannelMoments<T>(T* x, int n, int c, long s, double* mean, double* var)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long m = (long)n * s;
        int pieces = NormParallel.PiecesPerChannel(c, m), items = c * pieces;
        Moments[] parts = ArrayPool<Moments>.Shared.Rent(items);
        try
        {
            fixed (Moments* pp = parts)
            {
                Moments* p = pp;
                NormParallel.For(items, (long)c * m, item =>
                {
                    int ch = item / pieces, j = item % pieces;
                    Moments acc = default;
                    long i = m * j / pieces, end = m * (j + 1) / pieces;
                    while (i < end)
                    {
                        // One contiguous run: the rest of plane (n, ch), or up to the piece end.
                        long ni = i / s, off = i - ni * s, len = Math.Min(s - off, end - i);
                        NormMoments.AccumulateStats(x + (ni * c + ch) * s + off, len, ref acc);
                        i += len;
                    }
                    p[item] = acc;
                });
                for (int ch = 0; ch < c; ch++)
                {
                    Moments acc = p[ch * pieces];
                    for (int j = 1; j < pieces; j++) acc.Merge(p[ch * pieces + j]);
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
        long m = (long)n * s;
        int pieces = NormParallel.PiecesPerChannel(c, m), items = c * pieces;
        double[] parts = ArrayPool<double>.Shared.Rent(2 * items);
        try
        {
            fixed (double* pp = parts)
            {
                double* p = pp;
                NormParallel.For(items, (long)c * m, item =>
                {
                    int ch = item / pieces, j = item % pieces;
                    double a = 0, b = 0;
                    T mu = mean[ch];
                    long i = m * j / pieces, end = m * (j + 1) / pieces;
                    while (i < end)
                    {
                        long ni = i / s, off = i - ni * s, len = Math.Min(s - off, end - i);
                        long at = (ni * c + ch) * s + off;
                        NormMoments.AccumulateGradSums(x + at, dy + at, len, mu, ref a, ref b);
                        i += len;
                    }
                    p[2 * item] = a;
                    p[2 * item + 1] = b;
                });
                for (int ch = 0; ch < c; ch++)
                {
                    double a = 0, b = 0;
                    for (int j = 0; j < pieces; j++) { a += p[2 * (ch * pieces + j)]; b += p[2 * (ch * pieces + j) + 1]; }
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
