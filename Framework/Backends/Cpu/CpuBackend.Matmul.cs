namespace Framework.Backends.Cpu;

internal sealed unsafe partial class CpuBackend
{
    public override void Matmul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate)
    {
        int batch = c._shape[0], m = c._shape[1], n = c._shape[2];
        int k = transA ? a._shape[1] : a._shape[2];
        long strideA = a._shape[0] == 1 ? 0 : (long)a._shape[1] * a._shape[2];
        long strideB = b._shape[0] == 1 ? 0 : (long)b._shape[1] * b._shape[2];
        long strideC = (long)m * n;
        // BLAS requires leading dimensions >= 1 even when a matrix is empty.
        int lda = Math.Max(1, a._shape[2]), ldb = Math.Max(1, b._shape[2]), ldc = Math.Max(1, n);
        if (c.DType == DType.Float32)
        {
            Gemm.SgemmBatched(transA, transB, m, n, k, Ptr<float>(a), lda, strideA, Ptr<float>(b), ldb, strideB, Ptr<float>(c), ldc, strideC, batch, accumulate);
        }
        else
        {
            Gemm.DgemmBatched(transA, transB, m, n, k, Ptr<double>(a), lda, strideA, Ptr<double>(b), ldb, strideB, Ptr<double>(c), ldc, strideC, batch, accumulate);
        }
    }
}
