using System.Numerics;
using System.Runtime.CompilerServices;

namespace Framework.Backends.Cpu;

/// <summary>
/// im2col / col2im for one sample, and the GEMM dispatch the convolution uses. Rows of the column
/// matrix are (c, kh, kw), columns (oh, ow); for each row the valid output columns of an input row
/// form one contiguous range [lo, hi], computed once per (kw) instead of testing every element, so
/// stride-1 rows are plain copies (adds for col2im) with zero edges.
/// </summary>
/// <remarks>
/// The loops are compiled fully optimised from the first call (AggressiveOptimization): a conv calls
/// them once per sample, too few calls for tiered compilation to promote them early, and tier-0 col2im
/// was measured 50x slower than the optimised code.
/// </remarks>
internal static unsafe class ConvKernels
{
    /// <summary>The output columns ow whose input column ow*SW + off lies in [0, W): [lo, hi), possibly empty.</summary>
    private static (int Lo, int Hi) ValidRange(int off, int stride, int width, int outWidth)
    {
        int lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
        int hi = width - 1 - off < 0 ? 0 : (width - 1 - off) / stride + 1;
        hi = Math.Min(hi, outWidth);
        lo = Math.Min(lo, hi);
        return (lo, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Im2Col<T>(T* x, T* cols, in Conv2dGeometry g) where T : unmanaged, INumberBase<T>
    {
        int oh = g.OH, ow = g.OW;
        long l = (long)oh * ow, plane = (long)g.H * g.W;
        for (int c = 0; c < g.C; c++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    T* dst = cols + ((long)(c * g.KH + kh) * g.KW + kw) * l;
                    int off = kw * g.DW - g.PW;
                    var (lo, hi) = ValidRange(off, g.SW, g.W, ow);
                    for (int r = 0; r < oh; r++)
                    {
                        T* d = dst + (long)r * ow;
                        int ih = r * g.SH - g.PH + kh * g.DH;
                        if (ih < 0 || ih >= g.H) { new Span<T>(d, ow).Clear(); continue; }
                        T* s = x + c * plane + (long)ih * g.W + off;
                        new Span<T>(d, lo).Clear();
                        if (g.SW == 1) new ReadOnlySpan<T>(s + lo, hi - lo).CopyTo(new Span<T>(d + lo, hi - lo));
                        else for (int j = lo; j < hi; j++) d[j] = s[(long)j * g.SW];
                        new Span<T>(d + hi, ow - hi).Clear();
                    }
                }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Col2Im<T>(T* cols, T* x, in Conv2dGeometry g) where T : unmanaged, INumberBase<T>
    {
        int oh = g.OH, ow = g.OW;
        long l = (long)oh * ow, plane = (long)g.H * g.W;
        new Span<T>(x, checked((int)(g.C * plane))).Clear();
        for (int c = 0; c < g.C; c++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    T* src = cols + ((long)(c * g.KH + kh) * g.KW + kw) * l;
                    int off = kw * g.DW - g.PW;
                    var (lo, hi) = ValidRange(off, g.SW, g.W, ow);
                    if (lo >= hi) continue;
                    for (int r = 0; r < oh; r++)
                    {
                        int ih = r * g.SH - g.PH + kh * g.DH;
                        if (ih < 0 || ih >= g.H) continue;
                        T* s = src + (long)r * ow;
                        T* d = x + c * plane + (long)ih * g.W + off;
                        if (g.SW == 1)
                        {
                            AddTo(d + lo, s + lo, hi - lo);
                        }
                        else for (int j = lo; j < hi; j++) d[(long)j * g.SW] += s[j];
                    }
                }
    }

    /// <summary>d[0..n) += s[0..n); rows are a feature map's width, short enough that an inline loop beats a library call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(T* d, T* s, int n) where T : unmanaged, INumberBase<T>
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                (Vector.Load(d + j) + Vector.Load(s + j)).Store(d + j);
        for (; j < n; j++) d[j] += s[j];
    }

    /// <summary>Row-major C (+)= op(A) op(B) in the element type T (float or double).</summary>
    /// <remarks>
    /// <paramref name="parallel"/> false means the caller already runs one sample per core; the GEMM
    /// must then stay on the calling thread (nested splitting only repacks operands for nothing).
    /// </remarks>
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k, T* a, int lda, T* b, int ldb, T* c, int ldc,
        bool accumulate, bool parallel) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Cpu.Gemm.Run(transA, transB, m, n, k, (float*)a, lda, (float*)b, ldb, (float*)c, ldc, accumulate, parallel);
        else
            Cpu.Gemm.Run(transA, transB, m, n, k, (double*)a, lda, (double*)b, ldb, (double*)c, ldc, accumulate, parallel);
    }
}

/// <summary>A grow-only pinned scratch buffer per thread and element type (column matrices, partial sums).</summary>
internal static unsafe class Scratch<T> where T : unmanaged
{
    [ThreadStatic] private static T[]? t_buffer;

    /// <summary>At least <paramref name="length"/> elements, valid until this thread asks again.</summary>
    public static T* Get(long length)
    {
        var buf = t_buffer;
        if (buf is null || buf.LongLength < length)
        {
            buf = GC.AllocateUninitializedArray<T>(checked((int)Math.Max(length, 1024)), pinned: true);
            t_buffer = buf;
        }
        return (T*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref buf[0]);
    }
}
