using System.Buffers;
using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// GroupNorm family on [N, C, S]: group g = (n, j) covers the cpg = C/groups consecutive channels
/// j*cpg .. j*cpg+cpg-1 of sample n, a contiguous run of M = cpg*S elements; the affine map stays
/// per channel. InstanceNorm is groups = C (M = S, channel of group g is g % C). Each thread takes
/// whole groups and runs the statistics pass and then the normalize pass over the same group while
/// it is still in L1/L2, so x comes from memory once.
/// </summary>
internal static unsafe partial class NormKernels
{
    /// <summary>InstanceNorm forward = <see cref="GroupNormForward{T}"/> with groups = C.</summary>
    public static void InstanceNormForward<T>(T* x, T* y, int n, int c, long s, T* gamma, T* beta, double eps,
        T* mean, T* rstd, T* runningMean = null, T* runningVar = null, double factor = 0.1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => GroupNormForward(x, y, n, c, s, c, gamma, beta, eps, mean, rstd, runningMean, runningVar, factor);

    /// <summary>InstanceNorm backward = <see cref="GroupNormBackward{T}"/> with groups = C.</summary>
    public static void InstanceNormBackward<T>(T* x, T* dy, int n, int c, long s, T* mean, T* rstd, T* gamma,
        T* dx, T* dgamma, T* dbeta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => GroupNormBackward(x, dy, n, c, s, c, mean, rstd, gamma, dx, dgamma, dbeta);

    /// <summary>
    /// Forward with group statistics: per group mu, biased var, rstd = 1/sqrt(var + eps) (written to
    /// mean[N*groups], rstd[N*groups] for backward) and y = gamma[c] (x - mu) rstd + beta[c].
    /// Running buffers (only for groups == C, i.e. InstanceNorm with tracking) are updated with the
    /// batch averages: rm = (1-f) rm + f mean_n(mu), rv = (1-f) rv + f mean_n(var S/(S-1)), from the
    /// double statistics of this pass (no extra pass, no loss from recovering var out of rstd).
    /// </summary>
    public static void GroupNormForward<T>(T* x, T* y, int n, int c, long s, int groups, T* gamma, T* beta, double eps,
        T* mean, T* rstd, T* runningMean = null, T* runningVar = null, double factor = 0.1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (groups <= 0 || c % groups != 0)
            throw new ArgumentException($"channels ({c}) must be divisible by groups ({groups})", nameof(groups));
        bool running = runningMean != null || runningVar != null;
        if (running && groups != c)
            throw new ArgumentException($"running statistics need one group per channel (groups = {groups}, channels = {c})", nameof(groups));
        int cpg = c / groups, g = n * groups;
        long m = cpg * s;
        if (g * m == 0) return; // empty batch: running statistics untouched
        double[]? stats = running ? ArrayPool<double>.Shared.Rent(2 * g) : null;
        try
        {
            fixed (double* st = stats)
            {
                double* sp = st; // a fixed local cannot be captured by the lambda; a copy can
                int items = NormParallel.GroupItems(g, m);
                bool stream = NormParallel.Stream(g * m, s, sizeof(T));
                NormParallel.For(items, g * m, item =>
                {
                    long g0 = (long)g * item / items, g1 = (long)g * (item + 1) / items;
                    for (long gi = g0; gi < g1; gi++)
                    {
                        T* xg = x + gi * m, yg = y + gi * m;
                        Moments acc = default;
                        NormMoments.AccumulateStats(xg, m, ref acc); // pass 1: x from memory
                        double mu = acc.Mean, var = acc.Variance, r = 1.0 / Math.Sqrt(var + eps);
                        if (mean != null) mean[gi] = T.CreateTruncating(mu);
                        if (rstd != null) rstd[gi] = T.CreateTruncating(r);
                        if (sp != null) { sp[gi] = mu; sp[g + gi] = var; }
                        var (hi, lo) = NormMoments.Split<T>(mu);
                        int c0 = (int)(gi % groups) * cpg;
                        for (int j = 0; j < cpg; j++) // pass 2: the group is still in cache
                        {
                            int ch = c0 + j;
                            T a = T.CreateTruncating(r * (gamma != null ? double.CreateTruncating(gamma[ch]) : 1.0));
                            NormLoops.Apply(xg + j * s, yg + j * s, (nint)s, hi, lo, a, beta != null ? beta[ch] : T.Zero, stream);
                        }
                    }
                    NormParallel.Fence(stream);
                });
                if (running) UpdateInstanceRunning(n, c, s, sp, runningMean, runningVar, factor);
            }
        }
        finally { if (stats != null) ArrayPool<double>.Shared.Return(stats); }
    }

    /// <summary>rm = (1-f) rm + f (1/N) sum_n mu[n,c]; rv = (1-f) rv + f (1/N) sum_n var[n,c] S/(S-1).</summary>
    private static void UpdateInstanceRunning<T>(int n, int c, long s, double* stats, T* runningMean, T* runningVar, double f)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double unbias = s > 1 ? (double)s / (s - 1) : double.PositiveInfinity;
        int g = n * c;
        for (int ch = 0; ch < c; ch++)
        {
            double mu = 0, var = 0;
            for (int i = 0; i < n; i++) { mu += stats[i * c + ch]; var += stats[g + i * c + ch]; }
            mu /= n; var = var / n * unbias;
            if (runningMean != null)
                runningMean[ch] = T.CreateTruncating((1 - f) * double.CreateTruncating(runningMean[ch]) + f * mu);
            if (runningVar != null)
                runningVar[ch] = T.CreateTruncating((1 - f) * double.CreateTruncating(runningVar[ch]) + f * var);
        }
    }

    /// <summary>
    /// Backward with group statistics. With g' = dy gamma[c] and, per plane (n, c),
    /// sg_c = sum dy, sgd_c = sum dy (x - mu): the group sums are G1 = sum_c gamma_c sg_c and
    /// G2 = sum_c gamma_c sgd_c, and dx = rstd (g' - G1/M - xhat rstd G2/M), i.e. per plane
    /// dx = A_c dy + B (x - mu) + K with A_c = rstd gamma_c, B = -rstd^3 G2/M, K = -rstd G1/M.
    /// dgamma_c = sum_n rstd sgd_c and dbeta_c = sum_n sg_c are summed in per-item double partials
    /// (no locks or atomics), reduced in item order afterwards, so results are deterministic.
    /// </summary>
    public static void GroupNormBackward<T>(T* x, T* dy, int n, int c, long s, int groups, T* mean, T* rstd, T* gamma,
        T* dx, T* dgamma, T* dbeta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (groups <= 0 || c % groups != 0)
            throw new ArgumentException($"channels ({c}) must be divisible by groups ({groups})", nameof(groups));
        int cpg = c / groups, g = n * groups;
        long m = cpg * s;
        int items = NormParallel.GroupItems(g, m);
        bool stream = NormParallel.Stream(g * m, s, sizeof(T));
        bool param = dgamma != null || dbeta != null;
        // Per item: 2C partials (dgamma, dbeta) and the cpg gammas of the group in hand.
        int stride = 2 * c + cpg;
        double[] parts = ArrayPool<double>.Shared.Rent(items * stride);
        try
        {
            fixed (double* pp = parts)
            {
                double* p = pp;
                // Groups back to front: the forward pass went front to back, so the last groups'
                // x is what L3 still holds (the same alternation as the BatchNorm passes).
                NormParallel.For(items, g * m, k0 =>
                {
                    int item = items - 1 - k0;
                    double* part = p + (long)item * stride, plane = part + 2 * c;
                    new Span<double>(part, 2 * c).Clear();
                    long g0 = (long)g * item / items, g1 = (long)g * (item + 1) / items;
                    for (long gi = g0; gi < g1; gi++)
                    {
                        T* xg = x + gi * m, dyg = dy + gi * m;
                        T mu = mean[gi];
                        double r = double.CreateTruncating(rstd[gi]), s1 = 0, s2 = 0;
                        int c0 = (int)(gi % groups) * cpg;
                        for (int j = 0; j < cpg; j++) // reductions: x, dy from memory
                        {
                            double sg = 0, sgd = 0;
                            NormMoments.AccumulateGradSums(xg + j * s, dyg + j * s, s, mu, ref sg, ref sgd);
                            double gm = gamma != null ? double.CreateTruncating(gamma[c0 + j]) : 1.0;
                            s1 += gm * sg; s2 += gm * sgd;
                            plane[j] = gm;
                            part[c0 + j] += r * sgd;
                            part[c + c0 + j] += sg;
                        }
                        if (dx == null) continue;
                        T b = T.CreateTruncating(-r * r * r * s2 / m), k = T.CreateTruncating(-r * s1 / m);
                        for (int j = 0; j < cpg; j++) // dx pass: x, dy still in cache
                            NormLoops.Dx(xg + j * s, dyg + j * s, dx + gi * m + j * s, (nint)s, mu,
                                T.CreateTruncating(r * plane[j]), b, k, stream);
                    }
                    NormParallel.Fence(stream);
                });
                if (param)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        double dg = 0, db = 0;
                        for (int it = 0; it < items; it++) { dg += p[(long)it * stride + ch]; db += p[(long)it * stride + c + ch]; }
                        if (dgamma != null) dgamma[ch] = T.CreateTruncating(dg);
                        if (dbeta != null) dbeta[ch] = T.CreateTruncating(db);
                    }
                }
            }
        }
        finally { ArrayPool<double>.Shared.Return(parts); }
    }
}
