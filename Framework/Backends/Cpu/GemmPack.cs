using System.Numerics;
using System.Runtime.CompilerServices;

namespace Framework.Backends.Cpu;

/// <summary>
/// Packing of A and B blocks into the micro-panel layout the micro-kernels stream through.
/// </summary>
/// <remarks>
/// Packed A (mc x kc block): ceil(mc/MR) micro-panels, each kc steps of MR contiguous values
/// (row i of the panel at offset p*MR + i). Packed B (kc x nc block): ceil(nc/NR) micro-panels, each
/// kc steps of NR contiguous values. Rows/columns past the matrix edge are zero-filled so the kernel
/// always computes full tiles; the padded results are discarded by the driver. Packing is where the
/// transposes are absorbed: the kernels only ever see this one layout.
/// </remarks>
internal static unsafe class GemmPack<T> where T : unmanaged, INumber<T>
{
    /// <summary>Packs A(0..mc, 0..kc) where A(i,p) = a[i*lda + p], or a[p*lda + i] when transposed.</summary>
    public static void PackA(int mr, bool trans, T* a, nint lda, int mc, int kc, T* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            T* d = dst + (nint)ir * kc;
            if (!trans)
            {
                // Rows are contiguous in memory: read each row sequentially, write with stride MR.
                for (int r = 0; r < rows; r++)
                {
                    T* src = a + (ir + r) * lda;
                    T* dr = d + r;
                    for (int p = 0; p < kc; p++) dr[p * mr] = src[p];
                }
                for (int r = rows; r < mr; r++)
                    for (int p = 0; p < kc; p++) d[p * mr + r] = T.Zero;
            }
            else
            {
                // A^T stored K x M: the MR values of one k step are contiguous.
                for (int p = 0; p < kc; p++)
                {
                    T* src = a + p * lda + ir;
                    T* dp = d + p * mr;
                    int r = 0;
                    for (; r < rows; r++) dp[r] = src[r];
                    for (; r < mr; r++) dp[r] = T.Zero;
                }
            }
        }
    }

    /// <summary>Packs B(0..kc, 0..nc) where B(p,j) = b[p*ldb + j], or b[j*ldb + p] when transposed.</summary>
    public static void PackB(int nr, bool trans, T* b, nint ldb, int kc, int nc, T* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            T* d = dst + (nint)jr * kc;
            if (!trans)
            {
                // The NR values of one k step are contiguous: a short block copy per k step.
                nint bytes = (nint)cols * sizeof(T);
                for (int p = 0; p < kc; p++)
                {
                    T* src = b + p * ldb + jr;
                    T* dp = d + p * nr;
                    Unsafe.CopyBlockUnaligned(dp, src, (uint)bytes);
                    for (int j = cols; j < nr; j++) dp[j] = T.Zero;
                }
            }
            else
            {
                // B^T stored N x K: column j of B is contiguous; write it with stride NR.
                for (int j = 0; j < cols; j++)
                {
                    T* src = b + (jr + j) * ldb;
                    T* dj = d + j;
                    for (int p = 0; p < kc; p++) dj[p * nr] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) d[p * nr + j] = T.Zero;
            }
        }
    }
}
