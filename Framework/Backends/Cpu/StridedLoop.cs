namespace Framework.Backends.Cpu;

/// <summary>A row kernel: processes <c>n</c> elements starting at per-operand element offsets, with per-operand inner strides.</summary>
internal interface IRowKernel
{
    void Run(long n, long o0, long s0, long o1, long s1, long o2, long s2, long o3, long s3);
}

/// <summary>
/// The shared loop driver for elementwise work over up to four operands of one shape with arbitrary
/// strides (0 for broadcast dims). Adjacent dims that are contiguous for every operand are merged, so
/// the common cases (all contiguous, scalar broadcast, bias over the last dim) become a few long rows
/// handed to a vectorised row kernel. Work is split across threads above <see cref="ParallelThreshold"/>.
/// </summary>
internal static class StridedLoop
{
    /// <summary>Below this many elements threading costs more than it saves.</summary>
    public const long ParallelThreshold = 1 << 16;

    /// <summary>Rows handed to one thread are at least this long in elements, in total.</summary>
    private const long GrainElements = 1 << 15;

    public static void Run<TKernel>(ref TKernel kernel, int[] shape, long[] s0, long[]? s1 = null, long[]? s2 = null, long[]? s3 = null)
        where TKernel : struct, IRowKernel
    {
        long numel = Shapes.Numel(shape);
        if (numel == 0) return;
        int rank = shape.Length;
        // Fast path for small dense operands (the per-op overhead of tiny tensors matters).
        if (numel < ParallelThreshold && Dense(shape, s0) && (s1 is null || Dense(shape, s1))
            && (s2 is null || Dense(shape, s2)) && (s3 is null || Dense(shape, s3)))
        {
            kernel.Run(numel, 0, 1, 0, s1 is null ? 0 : 1, 0, s2 is null ? 0 : 1, 0, s3 is null ? 0 : 1);
            return;
        }
        // Collapse dims right to left into at most `rank` merged dims.
        Span<long> size = stackalloc long[Math.Max(rank, 1)];
        Span<long> st0 = stackalloc long[Math.Max(rank, 1)];
        Span<long> st1 = stackalloc long[Math.Max(rank, 1)];
        Span<long> st2 = stackalloc long[Math.Max(rank, 1)];
        Span<long> st3 = stackalloc long[Math.Max(rank, 1)];
        int m = 0;
        for (int i = rank - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            long a = s0[i], b = s1?[i] ?? 0, c = s2?[i] ?? 0, d = s3?[i] ?? 0;
            if (m > 0 && a == st0[m - 1] * size[m - 1] && b == st1[m - 1] * size[m - 1]
                && c == st2[m - 1] * size[m - 1] && d == st3[m - 1] * size[m - 1])
            {
                size[m - 1] *= shape[i];
                continue;
            }
            size[m] = shape[i]; st0[m] = a; st1[m] = b; st2[m] = c; st3[m] = d;
            m++;
        }
        if (m == 0)
        {
            kernel.Run(1, 0, 0, 0, 0, 0, 0, 0, 0);
            return;
        }
        // size[0] is now the innermost merged dim; dims 1..m-1 are outer, innermost first.
        long inner = size[0];
        long outer = numel / inner;
        if (numel < ParallelThreshold || Environment.ProcessorCount == 1)
        {
            RunRange(ref kernel, 0, outer, inner, m, size, st0, st1, st2, st3, 0, inner);
            return;
        }
        if (outer == 1)
        {
            // One long row: split it into chunks.
            int chunks = (int)Math.Min(Environment.ProcessorCount * 4, Math.Max(1, inner / GrainElements));
            long per = (inner + chunks - 1) / chunks;
            per = (per + 63) & ~63L; // keep chunk starts aligned for the vector kernels
            long a0 = st0[0], a1 = st1[0], a2 = st2[0], a3 = st3[0];
            var k = kernel;
            Parallel.For(0, chunks, c =>
            {
                long start = c * per, end = Math.Min(inner, start + per);
                if (start >= end) return;
                var local = k;
                local.Run(end - start, start * a0, a0, start * a1, a1, start * a2, a2, start * a3, a3);
            });
            return;
        }
        var sizes = size[..m].ToArray();
        var t0 = st0[..m].ToArray(); var t1 = st1[..m].ToArray(); var t2 = st2[..m].ToArray(); var t3 = st3[..m].ToArray();
        long rowsPerTask = Math.Max(1, GrainElements / inner);
        long tasks = (outer + rowsPerTask - 1) / rowsPerTask;
        var kk = kernel;
        Parallel.For(0L, tasks, t =>
        {
            var local = kk;
            long start = t * rowsPerTask, end = Math.Min(outer, start + rowsPerTask);
            RunRange(ref local, start, end, inner, m, sizes, t0, t1, t2, t3, 0, inner);
        });
    }

    private static bool Dense(int[] shape, long[] strides)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    private static void RunRange<TKernel>(ref TKernel kernel, long rowStart, long rowEnd, long inner, int m,
        ReadOnlySpan<long> size, ReadOnlySpan<long> st0, ReadOnlySpan<long> st1, ReadOnlySpan<long> st2, ReadOnlySpan<long> st3,
        long innerStart, long innerEnd)
        where TKernel : struct, IRowKernel
    {
        // Decompose the first row index into outer coordinates, then step like an odometer.
        Span<long> idx = stackalloc long[m];
        long o0 = 0, o1 = 0, o2 = 0, o3 = 0;
        long r = rowStart;
        for (int d = 1; d < m; d++)
        {
            idx[d] = r % size[d];
            r /= size[d];
            o0 += idx[d] * st0[d]; o1 += idx[d] * st1[d]; o2 += idx[d] * st2[d]; o3 += idx[d] * st3[d];
        }
        long n = innerEnd - innerStart;
        for (long row = rowStart; row < rowEnd; row++)
        {
            kernel.Run(n, o0 + innerStart * st0[0], st0[0], o1 + innerStart * st1[0], st1[0],
                o2 + innerStart * st2[0], st2[0], o3 + innerStart * st3[0], st3[0]);
            for (int d = 1; d < m; d++)
            {
                idx[d]++;
                o0 += st0[d]; o1 += st1[d]; o2 += st2[d]; o3 += st3[d];
                if (idx[d] < size[d]) break;
                o0 -= st0[d] * size[d]; o1 -= st1[d] * size[d]; o2 -= st2[d] * size[d]; o3 -= st3[d] * size[d];
                idx[d] = 0;
            }
        }
    }
}
