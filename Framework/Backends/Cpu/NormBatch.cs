using System.Buffers;
using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// Fused CPU normalization kernels on raw memory, independent of Tensor. Layout: contiguous NCHW
/// viewed as [N, C, S] with S the product of the trailing dims. Nullable pointers (gamma, beta,
/// running buffers, gradient outputs) mean "absent". Gradient outputs are overwritten, not
/// accumulated. Callers validate shapes (M &gt; 1 for unbiased running variance, and so on).
/// </summary>
internal static unsafe partial class NormKernels
{
    // ---------------------------------------------------------------- BatchNorm: group = channel c, M = N*S

    /// <summary>
    /// Batch statistics per channel in one pass over x: mean[c], rstd[c] = 1/sqrt(var + eps) with
    /// biased var, and, if the running buffers are given, rm = (1-f) rm + f mean,
    /// rv = (1-f) rv + f var M/(M-1) in the same call.
    /// </summary>
    public static void BatchNormStats<T>(T* x, int n, int c, long s, T* mean, T* rstd, double eps,
        T* runningMean = null, T* runningVar = null, double factor = 0.1) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if ((long)n * c * s == 0) return; // empty batch: nothing to normalise, running statistics untouched
        double[] buf = ArrayPool<double>.Shared.Rent(2 * c);
        try
        {
            fixed (double* b = buf)
            {
                ChannelMoments(x, n, c, s, b, b + c);
                FinishChannelStats(c, (long)n * s, b, b + c, mean, rstd, eps, runningMean, runningVar, factor);
            }
        }
        finally { ArrayPool<double>.Shared.Return(buf); }
    }

    /// <summary>
    /// Training forward: <see cref="BatchNormStats{T}"/> then y = gamma (x - mean) rstd + beta, using
    /// the double mean (as a T hi/lo pair) rather than the rounded mean[c], so a large mean costs no accuracy.
    /// </summary>
    public static void BatchNormForward<T>(T* x, T* y, int n, int c, long s, T* gamma, T* beta, double eps,
        T* mean, T* rstd, T* runningMean = null, T* runningVar = null, double factor = 0.1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if ((long)n * c * s == 0) return;
        double[] buf = ArrayPool<double>.Shared.Rent(2 * c);
        T[] consts = ArrayPool<T>.Shared.Rent(4 * c);
        try
        {
            fixed (double* b = buf)
            fixed (T* k = consts)
            {
                ChannelMoments(x, n, c, s, b, b + c);
                FinishChannelStats(c, (long)n * s, b, b + c, mean, rstd, eps, runningMean, runningVar, factor);
                for (int ch = 0; ch < c; ch++)
                {
                    var (hi, lo) = NormMoments.Split<T>(b[ch]);
                    SetAffine(k, ch, hi, lo, 1.0 / Math.Sqrt(b[c + ch] + eps), gamma, beta);
                }
                ChannelApply(x, y, n, c, s, k);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buf);
            ArrayPool<T>.Shared.Return(consts);
        }
    }

    /// <summary>y = gamma[c] (x - mean[c]) rstd[c] + beta[c] with given statistics, one vectorised pass.</summary>
    public static void BatchNormApply<T>(T* x, T* y, int n, int c, long s, T* mean, T* rstd, T* gamma, T* beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[] consts = ArrayPool<T>.Shared.Rent(4 * c);
        try
        {
            fixed (T* k = consts)
            {
                for (int ch = 0; ch < c; ch++)
                    SetAffine(k, ch, mean[ch], T.Zero, double.CreateTruncating(rstd[ch]), gamma, beta);
                ChannelApply(x, y, n, c, s, k);
            }
        }
        finally { ArrayPool<T>.Shared.Return(consts); }
    }

    /// <summary>
    /// Eval forward with running statistics: y = gamma (x - rm) / sqrt(rv + eps) + beta. Also the
    /// InstanceNorm eval path with tracked statistics (the same per-channel map). Safe with y == x.
    /// </summary>
    public static void BatchNormEval<T>(T* x, T* y, int n, int c, long s, T* runningMean, T* runningVar, double eps,
        T* gamma, T* beta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[] consts = ArrayPool<T>.Shared.Rent(4 * c);
        try
        {
            fixed (T* k = consts)
            {
                for (int ch = 0; ch < c; ch++)
                    SetAffine(k, ch, runningMean[ch], T.Zero, RunningRstd(runningVar[ch], eps), gamma, beta);
                ChannelApply(x, y, n, c, s, k);
            }
        }
        finally { ArrayPool<T>.Shared.Return(consts); }
    }

    /// <summary>
    /// Training backward. One pass over x and dy for the per-channel reductions
    /// sg = sum dy, sgd = sum dy (x - mean); then dbeta = sg, dgamma = rstd sgd and one fused pass
    /// dx = rstd gamma (dy - sg/M - xhat rstd sgd/M), xhat = (x - mean) rstd, written as
    /// dx = A dy + B (x - mean) + K with A = rstd gamma, B = -A rstd^2 sgd / M, K = -A sg / M.
    /// </summary>
    public static void BatchNormBackward<T>(T* x, T* dy, int n, int c, long s, T* mean, T* rstd, T* gamma,
        T* dx, T* dgamma, T* dbeta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double[] buf = ArrayPool<double>.Shared.Rent(2 * c);
        T[] consts = ArrayPool<T>.Shared.Rent(4 * c);
        try
        {
            fixed (double* b = buf)
            fixed (T* k = consts)
            {
                ChannelGradSums(x, dy, n, c, s, mean, b, b + c);
                double m = (double)n * s;
                for (int ch = 0; ch < c; ch++)
                {
                    double r = double.CreateTruncating(rstd[ch]), sg = b[ch], sgd = b[c + ch];
                    if (dgamma != null) dgamma[ch] = T.CreateTruncating(r * sgd);
                    if (dbeta != null) dbeta[ch] = T.CreateTruncating(sg);
                    double a = r * (gamma != null ? double.CreateTruncating(gamma[ch]) : 1.0);
                    k[4 * ch] = mean[ch];
                    k[4 * ch + 1] = T.CreateTruncating(a);
                    k[4 * ch + 2] = T.CreateTruncating(-a * r * r * sgd / m);
                    k[4 * ch + 3] = T.CreateTruncating(-a * sg / m);
                }
                if (dx != null) ChannelDx(x, dy, dx, n, c, s, k);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buf);
            ArrayPool<T>.Shared.Return(consts);
        }
    }

    /// <summary>
    /// Backward through running statistics (eval mode; also InstanceNorm eval with tracked stats):
    /// r = 1/sqrt(rv + eps), dx = gamma r dy, dgamma = sum dy (x - rm) r, dbeta = sum dy.
    /// The reduction pass is skipped when neither dgamma nor dbeta is wanted.
    /// </summary>
    public static void BatchNormBackwardEval<T>(T* x, T* dy, int n, int c, long s, T* runningMean, T* runningVar,
        double eps, T* gamma, T* dx, T* dgamma, T* dbeta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double[] buf = ArrayPool<double>.Shared.Rent(2 * c);
        T[] consts = ArrayPool<T>.Shared.Rent(4 * c);
        try
        {
            fixed (double* b = buf)
            fixed (T* k = consts)
            {
                if (dgamma != null || dbeta != null)
                {
                    ChannelGradSums(x, dy, n, c, s, runningMean, b, b + c);
                    for (int ch = 0; ch < c; ch++)
                    {
                        if (dgamma != null) dgamma[ch] = T.CreateTruncating(RunningRstd(runningVar[ch], eps) * b[c + ch]);
                        if (dbeta != null) dbeta[ch] = T.CreateTruncating(b[ch]);
                    }
                }
                if (dx == null) return;
                for (int ch = 0; ch < c; ch++)
                {
                    double r = RunningRstd(runningVar[ch], eps);
                    k[4 * ch] = T.Zero;
                    k[4 * ch + 1] = T.CreateTruncating(r * (gamma != null ? double.CreateTruncating(gamma[ch]) : 1.0));
                    k[4 * ch + 2] = T.Zero;
                    k[4 * ch + 3] = T.Zero;
                }
                ChannelDx(null, dy, dx, n, c, s, k); // x == null: dx = A dy only
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buf);
            ArrayPool<T>.Shared.Return(consts);
        }
    }

    private static double RunningRstd<T>(T runningVar, double eps) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => 1.0 / Math.Sqrt(double.CreateTruncating(runningVar) + eps);

    /// <summary>Per-channel constants of y = ((x - hi) - lo) a + b with a = rstd gamma, b = beta.</summary>
    private static void SetAffine<T>(T* k, int ch, T hi, T lo, double rstd, T* gamma, T* beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        k[4 * ch] = hi;
        k[4 * ch + 1] = lo;
        k[4 * ch + 2] = T.CreateTruncating(rstd * (gamma != null ? double.CreateTruncating(gamma[ch]) : 1.0));
        k[4 * ch + 3] = beta != null ? beta[ch] : T.Zero;
    }

    /// <summary>mean/var (double) to the T outputs and the running buffers (unbiased var: var M/(M-1)).</summary>
    private static void FinishChannelStats<T>(int c, long m, double* mu, double* var, T* mean, T* rstd, double eps,
        T* runningMean, T* runningVar, double f) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double unbias = m > 1 ? (double)m / (m - 1) : double.PositiveInfinity;
        for (int ch = 0; ch < c; ch++)
        {
            if (mean != null) mean[ch] = T.CreateTruncating(mu[ch]);
            if (rstd != null) rstd[ch] = T.CreateTruncating(1.0 / Math.Sqrt(var[ch] + eps));
            if (runningMean != null)
                runningMean[ch] = T.CreateTruncating((1 - f) * double.CreateTruncating(runningMean[ch]) + f * mu[ch]);
            if (runningVar != null)
                runningVar[ch] = T.CreateTruncating((1 - f) * double.CreateTruncating(runningVar[ch]) + f * var[ch] * unbias);
        }
    }
}
