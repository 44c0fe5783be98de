using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Framework.Backends.Cpu;

/// <summary>
/// BLIS-style blocked GEMM driver, generic over the element type and the micro-kernel.
/// C (+)= op(A) op(B) with all operands row-major; arguments are assumed validated (m, n, k &gt; 0).
/// </summary>
/// <remarks>
/// Loop nest (one thread, one rectangle of C):
/// <code>
/// for jc in N step NC            B panel KC x NC lives in L3 (shared, 32 MiB on the target EPYC)
///   for pc in K step KC          pack B(pc, jc) once, reused by every MC block below
///     for ic in M step MC        pack A(ic, pc): MC x KC block lives in L2 (1 MiB per core)
///       for jr in NC step NR     B micro-panel KC x NR stays in L1 (48 KiB) across the ir loop
///         for ir in MC step MR   A micro-panel streams from L2
///           micro-kernel         MR x NR tile of C in registers for all KC steps
/// </code>
/// Blocking sizes, in bytes so float and double share them: KC = 256 so the L1-resident B micro-panel
/// is KC*NR*size = 32 KiB (AVX-512: NR*size = 128 bytes) and leaves room for the streamed A micro-panel;
/// the packed A block targets ~384 KiB (a third of L2, the rest for B micro-panels and C lines);
/// the packed B panel targets ~4 MiB of L3 per thread. KC in {128, 192, 256, 384} x MC in {192, 384, 768}
/// measured within noise of each other at 512^3 and 1024^3; these values sit in the middle.
/// Threads: C is split into a grid of rectangles (multiples of MR x NR), each computed independently
/// with its own thread-static pack buffers. That repacks the shared operand once per rectangle, an
/// O(MK + KN) cost against O(MNK) work, in exchange for no barriers inside the loop nest.
/// </remarks>
internal static unsafe class GemmDriver<T, TK>
    where T : unmanaged, INumber<T>
    where TK : struct, IGemmKernel<T>
{
    const int KC = 256;
    static int MC => Math.Max(TK.MR, 384 * 1024 / (KC * sizeof(T)) / TK.MR * TK.MR);
    static int NC => Math.Max(TK.NR, 4096 * 1024 / (KC * sizeof(T)) / TK.NR * TK.NR);

    /// <summary>
    /// Below this many multiply-adds the call stays on the calling thread. Measured on the idle 2-core
    /// target: 2 threads are 0.8x at 64^3, 1.15x at 96^3, 1.5x at 128^3, 1.8x at 256^3 (waking a pool
    /// thread costs ~1 us there). When other processes load both cores, 2 threads lose up to ~256^3,
    /// which no threshold can fix without hurting the idle case.
    /// </summary>
    internal const long ParallelThreshold = 128L * 128 * 128;

    // Grow-only per-thread pack buffer (pinned, on the POH): no allocation per call in steady state,
    // and it is collected with the thread, unlike native memory.
    [ThreadStatic] static T[]? t_buffer;

    /// <summary>Runs the whole product, splitting it over threads when it is large enough.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k,
        T* a, nint lda, T* b, nint ldb, T* c, nint ldc, bool accumulate, bool allowParallel = true)
    {
        if (!allowParallel || Environment.ProcessorCount == 1 || (long)m * n * k < ParallelThreshold)
            RunTile(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        else
            RunParallel(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    }

    /// <summary>Splits C into rectangles computed on the thread pool, whatever the size.</summary>
    internal static void RunParallel(bool transA, bool transB, int m, int n, int k,
        T* a, nint lda, T* b, nint ldb, T* c, nint ldc, bool accumulate)
    {
        int threads = Environment.ProcessorCount;
        // Large products use two rectangles per thread so Parallel.For can rebalance when a core is busy
        // with something else (shared machines); smaller ones one per thread, because every extra
        // rectangle repacks its share of A and B (at 256^3, 4 rectangles cost ~10% more than 2).
        int tasks = (long)m * n * k >= 512L * 512 * 512 ? 2 * threads : threads;
        (int mt, int nt) = Grid(m, n, tasks);
        int mChunk = RoundUp(DivUp(m, mt), TK.MR);
        int nChunk = RoundUp(DivUp(n, nt), TK.NR);
        mt = DivUp(m, mChunk);
        nt = DivUp(n, nChunk);
        var job = new TileJob(transA, transB, m, n, k, (nint)a, lda, (nint)b, ldb, (nint)c, ldc,
            accumulate, mChunk, nChunk, nt);
        Parallel.For(0, mt * nt, new ParallelOptions { MaxDegreeOfParallelism = threads }, job.Execute);
    }

    sealed class TileJob(bool transA, bool transB, int m, int n, int k, nint a, nint lda, nint b, nint ldb,
        nint c, nint ldc, bool accumulate, int mChunk, int nChunk, int nt)
    {
        public void Execute(int tile)
        {
            int i0 = tile / nt * mChunk, j0 = tile % nt * nChunk;
            int mLen = Math.Min(mChunk, m - i0), nLen = Math.Min(nChunk, n - j0);
            T* pa = (T*)a + (transA ? i0 : i0 * lda);
            T* pb = (T*)b + (transB ? j0 * ldb : j0);
            T* pc = (T*)c + i0 * ldc + j0;
            RunTile(transA, transB, mLen, nLen, k, pa, lda, pb, ldb, pc, ldc, accumulate);
        }
    }

    /// <summary>Chooses mt x nt ~= tasks rectangles that are as square as the matrix allows.</summary>
    static (int mt, int nt) Grid(int m, int n, int tasks)
    {
        int maxM = DivUp(m, TK.MR), maxN = DivUp(n, TK.NR);
        (int, int) best = (1, 1);
        double bestCost = double.MaxValue;
        for (int mt = 1; mt <= tasks; mt++)
        {
            int nt = Math.Max(1, tasks / mt);
            if (mt > maxM || nt > maxN) continue;
            // Packing traffic per rectangle ~ its perimeter; prefer using all tasks, then small perimeters.
            double cost = (double)m / mt + (double)n / nt + (mt * nt < tasks ? 1e9 * (tasks - mt * nt) : 0);
            if (cost < bestCost) { bestCost = cost; best = (mt, nt); }
        }
        return best;
    }

    /// <summary>Single-threaded blocked product of one rectangle of C.</summary>
    static void RunTile(bool transA, bool transB, int m, int n, int k,
        T* a, nint lda, T* b, nint ldb, T* c, nint ldc, bool accumulate)
    {
        int mr = TK.MR, nr = TK.NR;
        int mcMax = Math.Min(MC, RoundUp(m, mr));
        int ncMax = Math.Min(NC, RoundUp(n, nr));
        int kcMax = Math.Min(KC, k);
        T* packA = Buffer((nint)mcMax * kcMax + (nint)kcMax * ncMax + 2 * 64 / sizeof(T));
        packA = Align(packA);
        T* packB = Align(packA + (nint)mcMax * kcMax);
        T* edge = stackalloc T[mr * nr];

        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                // Only the first K block may overwrite C; later blocks add to the partial sums.
                bool add = accumulate || pc > 0;
                GemmPack<T>.PackB(nr, transB, b + (transB ? jc * ldb + pc : pc * ldb + jc), ldb, kc, nc, packB);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    GemmPack<T>.PackA(mr, transA, a + (transA ? pc * lda + ic : ic * lda + pc), lda, mc, kc, packA);
                    MacroKernel(mc, nc, kc, packA, packB, c + ic * ldc + jc, ldc, add, edge);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MacroKernel(int mc, int nc, int kc, T* packA, T* packB, T* c, nint ldc, bool add, T* edge)
    {
        int mr = TK.MR, nr = TK.NR;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            T* bp = packB + (nint)jr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                T* ap = packA + (nint)ir * kc;
                T* ct = c + ir * ldc + jr;
                if (rows == mr && cols == nr)
                {
                    TK.Run(kc, ap, bp, ct, ldc, add);
                    continue;
                }
                // Edge tile: compute the full tile into scratch, then merge only the valid part.
                TK.Run(kc, ap, bp, edge, nr, false);
                for (int r = 0; r < rows; r++)
                {
                    T* dst = ct + r * ldc;
                    T* src = edge + r * nr;
                    if (add) for (int j = 0; j < cols; j++) dst[j] += src[j];
                    else for (int j = 0; j < cols; j++) dst[j] = src[j];
                }
            }
        }
    }

    static T* Buffer(nint length)
    {
        T[]? buf = t_buffer;
        if (buf is null || buf.Length < length)
        {
            // Round up so a slowly growing sequence of shapes does not reallocate every call.
            buf = GC.AllocateUninitializedArray<T>((int)Math.Max(length, (buf?.Length ?? 0) * 3L / 2), pinned: true);
            t_buffer = buf;
        }
        return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
    }

    static T* Align(T* p) => (T*)(((nint)p + 63) & ~(nint)63);

    static int DivUp(int x, int y) => (x + y - 1) / y;

    static int RoundUp(int x, int y) => DivUp(x, y) * y;
}
