using System.Numerics;
using System.Runtime.CompilerServices;

namespace Framework.Backends.Cpu;

/// <summary>
/// Count, mean and M2 = sum (x - mean)^2 of a set of values, in double, merged with Chan's formula.
/// Never E[x^2] - E[x]^2: for float32 data with mean 1e4 and std 1 that difference cancels to noise.
/// </summary>
internal struct Moments
{
    public double Count, Mean, M2;

    /// <summary>Biased variance M2 / Count (what the normalisation uses).</summary>
    public readonly double Variance => M2 / Count;

    /// <summary>
    /// Chan et al.: for parts A and B with n = nA + nB and delta = meanB - meanA,
    /// mean = meanA + delta * nB / n,  M2 = M2A + M2B + delta^2 * nA * nB / n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Merge(double count, double mean, double m2)
    {
        if (count == 0) return;
        if (Count == 0) { Count = count; Mean = mean; M2 = m2; return; }
        double n = Count + count, delta = mean - Mean;
        Mean += delta * (count / n);
        M2 += m2 + delta * delta * (Count * count / n);
        Count = n;
    }

    public void Merge(in Moments other) => Merge(other.Count, other.Mean, other.M2);
}

/// <summary>Chunked statistics over contiguous runs: T-precision vector partials per chunk, double across chunks.</summary>
internal static unsafe class NormMoments
{
    /// <summary>
    /// Elements per chunk: 16 KiB, so a chunk read from memory by the first pass is still in L1 for
    /// the second, and a float32 lane accumulates only ChunkLength / 64 values before the chunk's
    /// partial goes to double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ChunkLength<T>() where T : unmanaged => 16384 / sizeof(T);

    /// <summary>
    /// Adds p[0..n) to <paramref name="acc"/>. Per chunk, an exact (corrected) two-pass variance:
    /// mc = sum/len rounded to T, then sd = sum (x - mc), sq = sum (x - mc)^2 and
    /// mean = mc + sd/len, M2 = sq - sd^2/len (the correction removes the error of mc to first order).
    /// </summary>
    public static void AccumulateStats<T>(T* p, long n, ref Moments acc) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunk = ChunkLength<T>();
        for (long i = 0; i < n; i += chunk)
        {
            nint len = (nint)Math.Min(chunk, n - i);
            T* q = p + i;
            double sum = double.CreateTruncating(NormLoops.Sum(q, len));
            T mc = T.CreateTruncating(sum / len);
            NormLoops.CenteredSums(q, len, mc, out T sd, out T sq);
            double d = double.CreateTruncating(sd);
            // Math.Max keeps a NaN (NaN input must propagate) and clips the tiny negative rounding of M2 ~ 0.
            double m2 = Math.Max(double.CreateTruncating(sq) - d * d / len, 0.0);
            acc.Merge(len, double.CreateTruncating(mc) + d / len, m2);
        }
    }

    /// <summary>Adds sum dy and sum dy * (x - m) over [0, n) to the double accumulators, chunk by chunk.</summary>
    public static void AccumulateGradSums<T>(T* x, T* dy, long n, T m, ref double sg, ref double sgd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunk = ChunkLength<T>();
        for (long i = 0; i < n; i += chunk)
        {
            nint len = (nint)Math.Min(chunk, n - i);
            NormLoops.GradSums(x + i, dy + i, len, m, out T a, out T b);
            sg += double.CreateTruncating(a);
            sgd += double.CreateTruncating(b);
        }
    }

    /// <summary>Splits a double mean into T hi + lo so that hi + lo represents it to ~2 T-ulps (see <see cref="NormLoops.Apply{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (T Hi, T Lo) Split<T>(double mean) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T hi = T.CreateTruncating(mean);
        double rest = mean - double.CreateTruncating(hi);
        // Infinite/NaN means give NaN rest; keep lo finite-or-NaN so NaN propagates but Inf - Inf does not appear twice.
        return (hi, T.CreateTruncating(double.IsFinite(rest) ? rest : 0.0));
    }
}

/// <summary>How the norm kernels cut work for <see cref="Parallel"/>: deterministic splits that depend only on the shape.</summary>
internal static class NormParallel
{
    /// <summary>Below this many elements a call runs on the calling thread: Parallel.For costs a few microseconds.</summary>
    public const long Threshold = 32 * 1024;

    /// <summary>Target number of work items: enough for load balance on a noisy machine, few enough for cheap merges.</summary>
    public const int TargetItems = 16;

    /// <summary>Elements per item of an elementwise pass (about 128 KiB of float32 per stream).</summary>
    public const long ElementwiseItem = 32 * 1024;

    /// <summary>Runs body(0..items) in parallel when the call is big enough, else in order on this thread.</summary>
    public static void For(int items, long elements, Action<int> body)
    {
        if (items <= 1 || elements < Threshold || Environment.ProcessorCount == 1)
        {
            for (int k = 0; k < items; k++) body(k);
            return;
        }
        Parallel.For(0, items, body);
    }

    /// <summary>
    /// Ranges of a per-channel reduction over the flat tensor. Each range holds C partials that are
    /// merged serially afterwards, so the count is capped; it depends on the size only (results are
    /// bit-identical across machines).
    /// </summary>
    public static int ReductionItems(long total) => (int)Math.Clamp(total / Threshold, 1, 32);

    /// <summary>
    /// Outputs at least this big are written with non-temporal (streaming) stores: they cannot stay
    /// in the caches for the next op anyway (L2 is 1 MiB per core, L3 a few tens of MiB shared), and
    /// streaming saves the read-for-ownership of every output line (a third of an apply pass's
    /// traffic) and keeps the inputs of the next pass (x, dy) in L3.
    /// </summary>
    public const long StreamBytes = 8L << 20;

    /// <summary>
    /// Whether a pass writing <paramref name="elements"/> outputs of <paramref name="size"/> bytes in
    /// contiguous runs of <paramref name="plane"/> elements should stream them.
    /// Planes shorter than 4 KiB are not streamed: their runs start and end inside cache lines, and
    /// lines written half by streaming and half by ordinary stores lose what streaming saves.
    /// </summary>
    public static bool Stream(long elements, long plane, int size) => elements * size >= StreamBytes && plane * size >= 4096;

    /// <summary>Makes a work item's streaming stores visible before Parallel.For reports it done.</summary>
    public static void Fence(bool stream)
    {
        if (stream && System.Runtime.Intrinsics.X86.Sse.IsSupported) System.Runtime.Intrinsics.X86.Sse.StoreFence();
    }

    /// <summary>Items for an elementwise pass over <paramref name="total"/> elements.</summary>
    public static int ElementwiseItems(long total) => (int)Math.Clamp((total + ElementwiseItem - 1) / ElementwiseItem, 1, 4096);

    /// <summary>Items for a per-group pass (InstanceNorm/GroupNorm/LayerNorm): contiguous ranges of whole groups.</summary>
    public static int GroupItems(long groups, long groupLength)
    {
        long byWork = Math.Max(1, groups * groupLength / Threshold);
        return (int)Math.Max(1, Math.Min(Math.Min(groups, byWork), 64));
    }
}
