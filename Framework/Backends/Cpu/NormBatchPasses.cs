using System.Buffers;
using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// The passes BatchNorm is built from. Every pass walks the flat NCHW tensor in memory order, cut
/// into equal ranges (so C = 3 still keeps every core busy and the hardware prefetchers see long
/// sequential streams even when S is small, e.g. 14x14); each contiguous run looks up its channel.
/// Reductions keep per-range, per-channel partials and merge them per channel in range order
/// (Chan's formula for moments), so the result depends on the shape only, not on the threads.
/// The reduction passes walk the ranges front to back and the elementwise passes that follow them
/// (apply, dx) back to front: the end of what a reduction just read is what L3 still holds, so the
/// second read of x (and dy) starts with cache hits instead of evicting them before their turn.
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
                    var runs = new PlaneRuns(total * item / items, total * (item + 1) / items, s, c);
                    while (runs.Next(out long e, out long len, out int ch))
                        NormMoments.AccumulateStats(x + e, len, ref part[ch]);
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
                    var runs = new PlaneRuns(total * item / items, total * (item + 1) / items, s, c);
                    while (runs.Next(out long e, out long len, out int ch))
                        NormMoments.AccumulateGradSums(x + e, dy + e, len, mean[ch], ref part[ch], ref part[c + ch]);
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
        bool stream = NormParallel.Stream(total, s, sizeof(T));
        NormParallel.For(items, total, k0 =>
        {
            int item = items - 1 - k0; // backwards: see the class remarks
            var runs = new PlaneRuns(total * item / items, total * (item + 1) / items, s, c);
            while (runs.Next(out long e, out long len, out int ch))
            {
                T* q = k + 4 * ch;
                NormLoops.Apply(x + e, y + e, (nint)len, q[0], q[1], q[2], q[3], stream);
            }
            NormParallel.Fence(stream);
        });
    }

    /// <summary>dx = k1 dy + k2 (x - k0) + k3 per channel; with x == null only dx = k1 dy.</summary>
    private static void ChannelDx<T>(T* x, T* dy, T* dx, int n, int c, long s, T* k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long total = (long)n * c * s;
        int items = NormParallel.ElementwiseItems(total);
        bool stream = NormParallel.Stream(total, s, sizeof(T));
        NormParallel.For(items, total, k0 =>
        {
            int item = items - 1 - k0; // backwards: see the class remarks
            var runs = new PlaneRuns(total * item / items, total * (item + 1) / items, s, c);
            while (runs.Next(out long e, out long len, out int ch))
            {
                T* q = k + 4 * ch;
                if (x == null) NormLoops.Scale(dy + e, dx + e, (nint)len, q[1], stream);
                else NormLoops.Dx(x + e, dy + e, dx + e, (nint)len, q[0], q[1], q[2], q[3], stream);
            }
            NormParallel.Fence(stream);
        });
    }
}

/// <summary>
/// Walks the flat range [start, end) of an [N, C, S] tensor as contiguous runs, each inside one
/// plane (n, c), yielding the run's offset, length and channel. Divides once at the start, then
/// steps plane by plane (a 64-bit division per 14x14 plane would cost as much as the plane's maths).
/// </summary>
internal struct PlaneRuns
{
    private long _at, _off;
    private readonly long _end, _s;
    private readonly int _c;
    private int _ch;

    public PlaneRuns(long start, long end, long s, int c)
    {
        long plane = start / s;
        (_at, _end, _s, _c, _off, _ch) = (start, end, s, c, start - plane * s, (int)(plane % c));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool Next(out long at, out long len, out int ch)
    {
        at = _at; ch = _ch;
        len = Math.Min(_s - _off, _end - _at);
        if (len <= 0) return false;
        _at += len;
        _off = 0;
        if (++_ch == _c) _ch = 0;
        return true;
    }
}
