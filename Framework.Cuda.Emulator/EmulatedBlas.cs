using System.Numerics;
using System.Runtime.InteropServices;
using Framework.Cuda;

namespace Framework.Cuda.Emulator;

/// <summary>
/// cublasSgemm / cublasDgemm and their strided-batched forms over emulated memory, column-major exactly as cuBLAS:
/// element (i, j) of X is X[i + j * ldx]. Arguments are checked the way cuBLAS checks them
/// (CUBLAS_STATUS_INVALID_VALUE), plus what cuBLAS cannot check: every matrix inside one allocation.
/// </summary>
internal static class EmulatedBlas
{
    public static (long Read, long Written) Gemm<T>(DeviceMemory memory, string call, BlasOperation transA, BlasOperation transB,
        int m, int n, int k, T alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB,
        T beta, ulong c, int ldc, long strideC, int batchCount) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        void Check(bool ok, string message)
        {
            if (!ok) throw new CudaException(CudaError.BlasFailed, call, "CUBLAS_STATUS_INVALID_VALUE: " + message);
        }
        Check(transA is BlasOperation.None or BlasOperation.Transpose, $"transa must be N or T, got {(int)transA}");
        Check(transB is BlasOperation.None or BlasOperation.Transpose, $"transb must be N or T, got {(int)transB}");
        Check(m >= 0 && n >= 0 && k >= 0, $"m, n, k must be >= 0, got m={m} n={n} k={k}");
        Check(batchCount >= 0, $"batchCount must be >= 0, got {batchCount}");
        // Rows of A as stored: m when not transposed (A is m x k), k when transposed (A is k x m).
        int rowsA = transA == BlasOperation.None ? m : k, colsA = transA == BlasOperation.None ? k : m;
        int rowsB = transB == BlasOperation.None ? k : n, colsB = transB == BlasOperation.None ? n : k;
        Check(lda >= Math.Max(1, rowsA), $"lda must be >= max(1, {(transA == BlasOperation.None ? "m" : "k")}) = {Math.Max(1, rowsA)}, got {lda}");
        Check(ldb >= Math.Max(1, rowsB), $"ldb must be >= max(1, {(transB == BlasOperation.None ? "k" : "n")}) = {Math.Max(1, rowsB)}, got {ldb}");
        Check(ldc >= Math.Max(1, m), $"ldc must be >= max(1, m) = {Math.Max(1, m)}, got {ldc}");
        if (m == 0 || n == 0 || batchCount == 0) return (0, 0);
        bool readC = beta != T.Zero;
        bool useAB = k != 0 && alpha != T.Zero;
        long read = 0, written = 0;
        for (int batch = 0; batch < batchCount; batch++)
        {
            var A = useAB ? Matrix<T>(memory, call, "A", a, batch * strideA, lda, rowsA, colsA) : default;
            var B = useAB ? Matrix<T>(memory, call, "B", b, batch * strideB, ldb, rowsB, colsB) : default;
            var C = Matrix<T>(memory, call, "C", c, batch * strideC, ldc, m, n);
            for (int j = 0; j < n; j++)
            {
                for (int i = 0; i < m; i++)
                {
                    double sum = 0;
                    if (useAB)
                        for (int p = 0; p < k; p++)
                        {
                            T x = transA == BlasOperation.None ? A[i + p * lda] : A[p + i * lda];
                            T y = transB == BlasOperation.None ? B[p + j * ldb] : B[j + p * ldb];
                            sum += double.CreateTruncating(x) * double.CreateTruncating(y);
                        }
                    // beta == 0 must not read C: a NaN already there is overwritten, as in cuBLAS.
                    double old = readC ? double.CreateTruncating(beta) * double.CreateTruncating(C[i + j * ldc]) : 0;
                    C[i + j * ldc] = T.CreateTruncating(double.CreateTruncating(alpha) * sum + old);
                }
            }
            MarkWritten(memory, c, batch * strideC, ldc, m, n, size);
            if (useAB) read += ((long)m * k + (long)k * n) * size;
            if (readC) read += (long)m * n * size;
            written += (long)m * n * size;
        }
        return (read, written);
    }

    /// <summary>The m x n elements of C (not the ldc padding between columns) now count as initialised.</summary>
    private static void MarkWritten(DeviceMemory memory, ulong basePtr, long elementOffset, int ld, int rows, int cols, int size)
    {
        ulong start = basePtr + (ulong)(elementOffset * size);
        var alloc = memory.Find(start, (ulong)size)!; // Matrix() already checked the whole extent
        int first = (int)(start - alloc.Base);
        for (int j = 0; j < cols; j++) alloc.MarkWritten(first + j * ld * size, rows * size);
    }

    /// <summary>The element view of a column-major matrix, checked to lie inside one allocation.</summary>
    private static Span<T> Matrix<T>(DeviceMemory memory, string call, string name, ulong basePtr, long elementOffset, int ld, int rows, int cols) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (basePtr % (ulong)size != 0) throw new CudaException(CudaError.BlasFailed, call, $"CUBLAS_STATUS_INVALID_VALUE: {name} pointer 0x{basePtr:X} is not {size}-byte aligned");
        long elements = rows == 0 || cols == 0 ? 0 : (long)(cols - 1) * ld + rows;
        ulong start = basePtr + (ulong)(elementOffset * size);
        ulong bytes = (ulong)elements * (ulong)size;
        if (elements == 0) return Span<T>.Empty;
        var alloc = memory.Find(start, bytes) ?? throw new CudaException(CudaError.BlasFailed, call,
            $"CUBLAS_STATUS_INVALID_VALUE: matrix {name} ({rows} x {cols}, ld {ld}) spans [0x{start:X}, 0x{start + bytes:X}) ({bytes} bytes), which is not inside one allocation{memory.Describe(start)}");
        return MemoryMarshal.Cast<byte, T>(alloc.Data.AsSpan((int)(start - alloc.Base), (int)bytes));
    }
}
