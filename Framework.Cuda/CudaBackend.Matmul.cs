namespace Framework.Cuda;

// Matrix products through cuBLAS (column-major) for row-major tensors.
public sealed partial class CudaBackend
{
    /// <summary>
    /// c[i] (+)= op(a[i]) op(b[i]) with row-major buffers. A row-major R x C buffer is the column-major
    /// C x R transpose, so row-major C = A B is column-major C^T = B^T A^T: pass B first, A second,
    /// m = N, n = M, and keep each operand's own transpose flag (a row-major stored [N, K] B read as
    /// column-major is K x N, so op(B) = B^T needs OP_T with ld = K). A shared operand (batch 1) gets
    /// stride 0 in the strided-batched call; <paramref name="accumulate"/> is beta = 1.
    /// </summary>
    public override void Matmul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate)
    {
        int batch = c._shape[0], m = c._shape[1], n = c._shape[2];
        int k = transA ? a._shape[1] : a._shape[2];
        if (batch == 0 || m == 0 || n == 0) return;
        long strideA = a._shape[0] == 1 ? 0 : (long)a._shape[1] * a._shape[2];
        long strideB = b._shape[0] == 1 ? 0 : (long)b._shape[1] * b._shape[2];
        long strideC = (long)m * n;
        // Leading dims of the stored buffers; cuBLAS wants >= 1 even for an empty k.
        int lda = Math.Max(1, a._shape[2]), ldb = Math.Max(1, b._shape[2]);
        var opA = transB ? BlasOperation.Transpose : BlasOperation.None; // cuBLAS's first operand is our b
        var opB = transA ? BlasOperation.Transpose : BlasOperation.None;
        ulong pa = DevicePtr(a), pb = DevicePtr(b), pc = DevicePtr(c);
        if (k == 0 && !accumulate)
        {
            // An empty product is zero; cuBLAS would also give that, but say it plainly.
            Fill(c, 0);
            return;
        }
        if (c.DType == DType.Float32)
        {
            float beta = accumulate ? 1f : 0f;
            if (batch == 1) Driver.Sgemm(opA, opB, n, m, k, 1f, pb, ldb, pa, lda, beta, pc, n);
            else Driver.SgemmStridedBatched(opA, opB, n, m, k, 1f, pb, ldb, strideB, pa, lda, strideA, beta, pc, n, strideC, batch);
        }
        else
        {
            double beta = accumulate ? 1.0 : 0.0;
            if (batch == 1) Driver.Dgemm(opA, opB, n, m, k, 1.0, pb, ldb, pa, lda, beta, pc, n);
            else Driver.DgemmStridedBatched(opA, opB, n, m, k, 1.0, pb, ldb, strideB, pa, lda, strideA, beta, pc, n, strideC, batch);
        }
    }
}
