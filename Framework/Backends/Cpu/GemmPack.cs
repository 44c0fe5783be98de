using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(int mr, bool trans, T* a, nint lda, int mc, int kc, T* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            T* d = dst + (nint)ir * kc;
            if (!trans)
            {
                int p0 = 0;
                if (typeof(T) == typeof(float) && mr == 8 && rows == 8 && Avx.IsSupported)
                {
                    // 8 rows x 8 k steps per register transpose: the scalar strided loop below costs
                    // ~3 cycles per element, which is 10-20% of a 1024^3 product on two threads.
                    for (; p0 + 8 <= kc; p0 += 8)
                        Transpose8x8((float*)(a + ir * lda + p0), lda, (float*)(d + p0 * 8), 8);
                    if (p0 == kc) continue;
                }
                // Rows are contiguous in memory: read each row sequentially, write with stride MR.
                for (int r = 0; r < rows; r++)
                {
                    T* src = a + (ir + r) * lda;
                    T* dr = d + r;
                    for (int p = p0; p < kc; p++) dr[p * mr] = src[p];
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
                    if (rows == mr)
                    {
                        Unsafe.CopyBlockUnaligned(dp, src, (uint)(mr * sizeof(T)));
                        continue;
                    }
                    int r = 0;
                    for (; r < rows; r++) dp[r] = src[r];
                    for (; r < mr; r++) dp[r] = T.Zero;
                }
            }
        }
    }

    /// <summary>Packs B(0..kc, 0..nc) where B(p,j) = b[p*ldb + j], or b[j*ldb + p] when transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                int p0 = 0;
                if (typeof(T) == typeof(float) && cols == nr && nr % 8 == 0 && Avx.IsSupported)
                {
                    // Same register transpose as for A: 8 columns of B x 8 k steps at a time.
                    for (; p0 + 8 <= kc; p0 += 8)
                        for (int j = 0; j < nr; j += 8)
                            Transpose8x8((float*)(b + (jr + j) * ldb + p0), ldb, (float*)(d + p0 * nr + j), nr);
                }
                // B^T stored N x K: column j of B is contiguous; write it with stride NR.
                for (int j = 0; j < cols; j++)
                {
                    T* src = b + (jr + j) * ldb;
                    T* dj = d + j;
                    for (int p = p0; p < kc; p++) dj[p * nr] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) d[p * nr + j] = T.Zero;
            }
        }
    }

    /// <summary>dst[p * dstStride + r] = src[r * srcStride + p] for an 8 x 8 block of floats (AVX).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(s3, s7, 0x31));
    }
}
