using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Framework.Backends.Cpu;

/// <summary>
/// Row-major matrix products for the CPU backend: C = op(A) op(B), or C += op(A) op(B).
/// </summary>
/// <remarks>
/// A is M x K: element (i,p) at a[i*lda + p], or at a[p*lda + i] when <c>transA</c> (A stored K x M).
/// B is K x N: element (p,j) at b[p*ldb + j], or at b[j*ldb + p] when <c>transB</c> (B stored N x K).
/// C is M x N: element (i,j) at c[i*ldc + j]. With <c>accumulate</c> false C is overwritten and never
/// read (NaN already in C cannot leak); with true the product is added to C. C must not overlap A or B.
/// The transposed forms exist so autograd can compute dA = dC B^T and dB = A^T dC without copies.
/// Kernel choice: AVX-512 where Vector512 is accelerated, AVX2+FMA otherwise, scalar elsewhere.
/// </remarks>
internal static unsafe class Gemm
{
    /// <summary>At or below this many multiply-adds a direct loop beats packing (4x4x4: about even;
    /// 8x8x8: the packed AVX-512 path was 3.5x faster), so only the very smallest products skip it.</summary>
    internal const long SmallThreshold = 4 * 4 * 4;

    /// <summary>Single-precision product; see the class remarks for the layout.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float* a, int lda,
        float* b, int ldb, float* c, int ldc, bool accumulate)
        => Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowParallel: true);

    /// <summary>Double-precision product; see the class remarks for the layout.</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double* a, int lda,
        double* b, int ldb, double* c, int ldc, bool accumulate)
        => Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowParallel: true);

    /// <summary>
    /// <paramref name="batch"/> independent single-precision products; matrix t starts at
    /// a + t*strideA, b + t*strideB, c + t*strideC. Small matrices are spread over threads by batch
    /// entry; large ones run one after another, each multi-threaded. A stride may be 0 (shared operand;
    /// for C with <paramref name="accumulate"/> true this sums the products into one matrix).
    /// </summary>
    public static void SgemmBatched(bool transA, bool transB, int m, int n, int k, float* a, int lda, long strideA,
        float* b, int ldb, long strideB, float* c, int ldc, long strideC, int batch, bool accumulate)
        => RunBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, accumulate);

    /// <summary>Double-precision counterpart of <see cref="SgemmBatched"/>.</summary>
    public static void DgemmBatched(bool transA, bool transB, int m, int n, int k, double* a, int lda, long strideA,
        double* b, int ldb, long strideB, double* c, int ldc, long strideC, int batch, bool accumulate)
        => RunBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, accumulate);

    static void RunBatched<T>(bool transA, bool transB, int m, int n, int k, T* a, int lda, long strideA,
        T* b, int ldb, long strideB, T* c, int ldc, long strideC, int batch, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        Validate(transA, transB, m, n, k, lda, ldb, ldc);
        long work = (long)m * n * k;
        // strideC == 0 (every product into one C, e.g. summing weight gradients over a batch) must stay
        // sequential: parallel batch entries would race on C. Strides of 0 for A or B (a shared operand) are fine.
        if (batch <= 1 || strideC == 0 || work >= GemmDriver<T, GemmKernel512<T>>.ParallelThreshold
            || work * batch < GemmDriver<T, GemmKernel512<T>>.ParallelThreshold || Environment.ProcessorCount == 1)
        {
            for (int t = 0; t < batch; t++)
                Run(transA, transB, m, n, k, a + t * strideA, lda, b + t * strideB, ldb, c + t * strideC, ldc,
                    accumulate, allowParallel: true);
            return;
        }
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, batch, options, t => Run(transA, transB, m, n, k, (T*)pa + t * strideA, lda,
            (T*)pb + t * strideB, ldb, (T*)pc + t * strideC, ldc, accumulate, allowParallel: false));
    }

    /// <summary>
    /// Generic entry point; <paramref name="allowParallel"/> false keeps the product on the calling thread,
    /// for callers that already run one product per core (batched matmul, the convolution's batch chunks).
    /// </summary>
    internal static void Run<T>(bool transA, bool transB, int m, int n, int k, T* a, int lda, T* b, int ldb, T* c, int ldc,
        bool accumulate, bool allowParallel) where T : unmanaged, INumber<T>
    {
        Validate(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            // Empty sum: the product is zero, so overwrite clears C and accumulate leaves it alone.
            if (!accumulate)
                for (int i = 0; i < m; i++) new Span<T>(c + (nint)i * ldc, n).Clear();
            return;
        }
        if (m == 1 && !transA && (long)n * k > SmallThreshold)
        {
            RowTimesMatrix(transB, n, k, a, b, ldb, c, accumulate);
            return;
        }
        if ((long)m * n * k <= SmallThreshold)
        {
            Small(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        if (Vector512.IsHardwareAccelerated)
            GemmDriver<T, GemmKernel512<T>>.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowParallel);
        else if (Vector256.IsHardwareAccelerated && Fma.IsSupported)
            GemmDriver<T, GemmKernel256<T>>.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowParallel);
        else
            GemmDriver<T, GemmKernelScalar<T>>.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowParallel);
    }

    /// <summary>
    /// One contiguous row times a matrix (batch-1 linear layers). This is memory-bound: reading B once
    /// beats packing it (a read and a write of all of B) for a micro-kernel that would waste 7 of 8 rows.
    /// </summary>
    static void RowTimesMatrix<T>(bool transB, int n, int k, T* a, T* b, nint ldb, T* c, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        var cRow = new Span<T>(c, n);
        if (transB)
        {
            // B stored N x K: each output is a dot product of two contiguous rows.
            var aRow = new ReadOnlySpan<T>(a, k);
            for (int j = 0; j < n; j++)
            {
                T dot = TensorPrimitives.Dot(aRow, new ReadOnlySpan<T>(b + j * ldb, k));
                cRow[j] = accumulate ? cRow[j] + dot : dot;
            }
            return;
        }
        // B stored K x N: C += a[p] * B[p, :], row by row; the first row overwrites when not accumulating.
        for (int p = 0; p < k; p++)
        {
            var bRow = new ReadOnlySpan<T>(b + p * ldb, n);
            if (p == 0 && !accumulate) TensorPrimitives.Multiply(bRow, a[0], cRow);
            else TensorPrimitives.MultiplyAdd(bRow, a[p], cRow, cRow);
        }
    }

    /// <summary>Direct triple loop for tiny products (e.g. 4x4), where packing would dominate.</summary>
    static void Small<T>(bool transA, bool transB, int m, int n, int k, T* a, nint lda, T* b, nint ldb,
        T* c, nint ldc, bool accumulate) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                    sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                T* dst = c + i * ldc + j;
                *dst = accumulate ? *dst + sum : sum;
            }
        }
    }

    static void Validate(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"Gemm expected non-negative sizes, got m={m}, n={n}, k={k}");
        int aWidth = transA ? m : k, bWidth = transB ? k : n;
        if (lda < Math.Max(1, aWidth))
            throw new ArgumentOutOfRangeException(nameof(lda), $"Gemm expected lda >= {Math.Max(1, aWidth)} (A stored {(transA ? "K x M" : "M x K")}), got {lda}");
        if (ldb < Math.Max(1, bWidth))
            throw new ArgumentOutOfRangeException(nameof(ldb), $"Gemm expected ldb >= {Math.Max(1, bWidth)} (B stored {(transB ? "N x K" : "K x N")}), got {ldb}");
        if (ldc < Math.Max(1, n))
            throw new ArgumentOutOfRangeException(nameof(ldc), $"Gemm expected ldc >= {Math.Max(1, n)}, got {ldc}");
    }
}
