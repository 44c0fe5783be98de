using System.Buffers;
using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// LayerNorm over the last D elements: x viewed as [rows, D], group = one row, the affine map per
/// element of the row (gamma[i], beta[i]). Same shape as the GroupNorm kernels: each thread takes
/// whole rows, statistics pass then normalize pass while the row is in cache.
/// </summary>
internal static unsafe partial class NormKernels
{
    /// <summary>Per row: mu, biased var, rstd = 1/sqrt(var + eps) (to mean[rows], rstd[rows]); y = gamma[i] (x - mu) rstd + beta[i].</summary>
    public static void LayerNormForward<T>(T* x, T* y, long rows, int d, T* gamma, T* beta, double eps, T* mean, T* rstd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // With only one of gamma/beta, the missing one is a row of 1s or 0s, so one loop serves all cases.
        T[]? fill = (gamma == null) != (beta == null) ? Filled(d, gamma == null ? T.One : T.Zero) : null;
        try
        {
            fixed (T* f = fill)
            {
                T* g = gamma != null ? gamma : f, b = beta != null ? beta : f;
                int items = NormParallel.GroupItems(rows, d);
                NormParallel.For(items, rows * d, item =>
                {
                    long r0 = rows * item / items, r1 = rows * (item + 1) / items;
                    for (long row = r0; row < r1; row++)
                    {
                        T* xr = x + row * d, yr = y + row * d;
                        Moments acc = default;
                        NormMoments.AccumulateStats(xr, d, ref acc);
                        double r = 1.0 / Math.Sqrt(acc.Variance + eps);
                        if (mean != null) mean[row] = T.CreateTruncating(acc.Mean);
                        if (rstd != null) rstd[row] = T.CreateTruncating(r);
                        var (hi, lo) = NormMoments.Split<T>(acc.Mean);
                        if (g == null) NormLoops.Apply(xr, yr, d, hi, lo, T.CreateTruncating(r), T.Zero);
                        else NormLoops.ApplyRow(xr, yr, d, hi, lo, T.CreateTruncating(r), g, b);
                    }
                });
            }
        }
        finally { if (fill != null) ArrayPool<T>.Shared.Return(fill); }
    }

    /// <summary>
    /// Per row, with g' = dy gamma: G1 = sum g', G2 = sum g' (x - mu), and
    /// dx = rstd (g' - G1/D - xhat rstd G2/D) = rstd gamma dy + B (x - mu) + K, B = -rstd^3 G2/D,
    /// K = -rstd G1/D. dgamma[i] = sum_rows dy xhat, dbeta[i] = sum_rows dy are accumulated in T
    /// partials per work item (one per thread range, no locks) and summed in double at the end.
    /// </summary>
    public static void LayerNormBackward<T>(T* x, T* dy, long rows, int d, T* mean, T* rstd, T* gamma,
        T* dx, T* dgamma, T* dbeta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int items = NormParallel.GroupItems(rows, d);
        bool param = dgamma != null || dbeta != null;
        T[]? ones = gamma == null ? Filled(d, T.One) : null;
        T[] parts = ArrayPool<T>.Shared.Rent(param ? 2 * items * d : 1);
        int chunk = NormMoments.ChunkLength<T>();
        try
        {
            fixed (T* o = ones)
            fixed (T* pp = parts)
            {
                T* g = gamma != null ? gamma : o, p = pp;
                NormParallel.For(items, rows * d, item =>
                {
                    T* pg = param ? p + 2L * item * d : null, pb = param ? pg + d : null;
                    if (param) new Span<T>(pg, 2 * d).Clear();
                    long r0 = rows * item / items, r1 = rows * (item + 1) / items;
                    for (long row = r0; row < r1; row++)
                    {
                        T* xr = x + row * d, dyr = dy + row * d;
                        T m = mean[row];
                        double r = double.CreateTruncating(rstd[row]), s1 = 0, s2 = 0;
                        for (int i = 0; i < d; i += chunk) // chunked: T partials, double across chunks
                        {
                            int len = Math.Min(chunk, d - i);
                            NormLoops.RowGradSums(xr + i, dyr + i, g + i, len, m, out T a, out T b);
                            s1 += double.CreateTruncating(a); s2 += double.CreateTruncating(b);
                        }
                        NormLoops.RowDx(xr, dyr, g, dx != null ? dx + row * d : null, d, m, T.CreateTruncating(r),
                            T.CreateTruncating(-r * r * r * s2 / d), T.CreateTruncating(-r * s1 / d),
                            dgamma != null ? pg : null, dbeta != null ? pb : null);
                    }
                });
                if (!param) return;
                for (int i = 0; i < d; i++)
                {
                    double sg = 0, sb = 0;
                    for (int it = 0; it < items; it++)
                    {
                        sg += double.CreateTruncating(p[2L * it * d + i]);
                        sb += double.CreateTruncating(p[2L * it * d + d + i]);
                    }
                    if (dgamma != null) dgamma[i] = T.CreateTruncating(sg);
                    if (dbeta != null) dbeta[i] = T.CreateTruncating(sb);
                }
            }
        }
        finally
        {
            if (ones != null) ArrayPool<T>.Shared.Return(ones);
            ArrayPool<T>.Shared.Return(parts);
        }
    }

    private static T[] Filled<T>(int length, T value) where T : unmanaged
    {
        T[] a = ArrayPool<T>.Shared.Rent(length);
        a.AsSpan(0, length).Fill(value);
        return a;
    }
}
