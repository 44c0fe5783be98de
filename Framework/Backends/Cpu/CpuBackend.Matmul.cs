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
        int lda = a._shape[2], ldb = b._shape[2];
        if (c.DType == DType.Float32)
        {
            float* pa = Ptr<float>(a), pb = Ptr<float>(b), pc = Ptr<float>(c);
            for (int i = 0; i < batch; i++)
                Gemm.Sgemm(transA, transB, m, n, k, pa + i * strideA, lda, pb + i * strideB, ldb, pc + i * strideC, n, accumulate);
        }
        else
        {
            double* pa = Ptr<double>(a), pb = Ptr<double>(b), pc = Ptr<double>(c);
            for (int i = 0; i < batch; i++)
                Gemm.Dgemm(transA, transB, m, n, k, pa + i * strideA, lda, pb + i * strideB, ldb, pc + i * strideC, n, accumulate);
        }
    }
}
