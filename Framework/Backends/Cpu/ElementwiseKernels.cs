using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>
/// Row kernels for the strided driver. Operand 0 is always the output. A row whose operands are all
/// unit-stride goes straight to the vectorised <see cref="RowMath"/>; a broadcast scalar operand
/// (stride 0) takes the scalar form; anything else is gathered into a small per-thread buffer first.
/// </summary>
internal static unsafe class ElementwiseKernels
{
    private const int Block = 1024;

    [ThreadStatic] private static double[]? t_bufA;
    [ThreadStatic] private static double[]? t_bufB;
    [ThreadStatic] private static double[]? t_bufY;

    private static Span<T> Scratch<T>(ref double[]? slot) where T : unmanaged
    {
        slot ??= new double[Block];
        return System.Runtime.InteropServices.MemoryMarshal.Cast<double, T>(slot.AsSpan())[..Block];
    }

    private static void Gather<T>(T* p, long stride, Span<T> dst) where T : unmanaged
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = p[i * stride];
    }

    private static void Scatter<T>(ReadOnlySpan<T> src, T* p, long stride) where T : unmanaged
    {
        for (int i = 0; i < src.Length; i++) p[i * stride] = src[i];
    }

    public struct Unary<T> : IRowKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Y, X;
        public UnaryOp Op;
        public T A, B;

        public void Run(long n, long oy, long sy, long ox, long sx, long o2, long s2, long o3, long s3)
        {
            if (sx == 1 && sy == 1)
            {
                RowMath.Unary(Op, new ReadOnlySpan<T>(X + ox, checked((int)n)), new Span<T>(Y + oy, (int)n), A, B);
                return;
            }
            var bx = Scratch<T>(ref t_bufA);
            var by = Scratch<T>(ref t_bufY);
            for (long i = 0; i < n; i += Block)
            {
                int len = (int)Math.Min(Block, n - i);
                Gather(X + ox + i * sx, sx, bx[..len]);
                if (sy == 1) RowMath.Unary(Op, bx[..len], new Span<T>(Y + oy + i, len), A, B);
                else
                {
                    RowMath.Unary(Op, bx[..len], by[..len], A, B);
                    Scatter<T>(by[..len], Y + oy + i * sy, sy);
                }
            }
        }
    }

    public struct Binary<T> : IRowKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Y, A, B;
        public BinaryOp Op;
        public T P, Q;

        public void Run(long n, long oy, long sy, long oa, long sa, long ob, long sb, long o3, long s3)
        {
            if (sy == 1)
            {
                if (n <= int.MaxValue)
                {
                    int len = (int)n;
                    var y = new Span<T>(Y + oy, len);
                    if (sa == 1 && sb == 1)
                    {
                        RowMath.Binary(Op, new ReadOnlySpan<T>(A + oa, len), new ReadOnlySpan<T>(B + ob, len), y, P, Q);
                        return;
                    }
                    if (sa == 1 && sb == 0)
                    {
                        RowMath.BinaryScalarRight(Op, new ReadOnlySpan<T>(A + oa, len), B[ob], y, P, Q);
                        return;
                    }
                    if (sa == 0 && sb == 1)
                    {
                        RowMath.BinaryScalarLeft(Op, A[oa], new ReadOnlySpan<T>(B + ob, len), y, P, Q);
                        return;
                    }
                }
            }
            var ba = Scratch<T>(ref t_bufA);
            var bb = Scratch<T>(ref t_bufB);
            var by = Scratch<T>(ref t_bufY);
            for (long i = 0; i < n; i += Block)
            {
                int len = (int)Math.Min(Block, n - i);
                Gather(A + oa + i * sa, sa, ba[..len]);
                Gather(B + ob + i * sb, sb, bb[..len]);
                RowMath.Binary(Op, ba[..len], bb[..len], by[..len], P, Q);
                Scatter<T>(by[..len], Y + oy + i * sy, sy);
            }
        }
    }

    public struct BinaryInt : IRowKernel
    {
        public long* Y, A, B;
        public BinaryOp Op;

        public void Run(long n, long oy, long sy, long oa, long sa, long ob, long sb, long o3, long s3)
        {
            for (long i = 0; i < n; i++) Y[oy + i * sy] = RowMath.ScalarInt(Op, A[oa + i * sa], B[ob + i * sb]);
        }
    }

    public struct UnaryInt : IRowKernel
    {
        public long* Y, X;
        public UnaryOp Op;
        public long A, B;

        public void Run(long n, long oy, long sy, long ox, long sx, long o2, long s2, long o3, long s3)
        {
            for (long i = 0; i < n; i++) Y[oy + i * sy] = RowMath.UnaryInt(Op, X[ox + i * sx], A, B);
        }
    }

    public struct Where<T> : IRowKernel where T : unmanaged
    {
        public T* Y, A, B;
        public void* Cond;
        public DType CondType;

        public void Run(long n, long oy, long sy, long oc, long sc, long oa, long sa, long ob, long sb)
        {
            for (long i = 0; i < n; i++)
            {
                long ci = oc + i * sc;
                bool c = CondType switch
                {
                    DType.Float32 => ((float*)Cond)[ci] != 0,
                    DType.Float64 => ((double*)Cond)[ci] != 0,
                    _ => ((long*)Cond)[ci] != 0,
                };
                Y[oy + i * sy] = c ? A[oa + i * sa] : B[ob + i * sb];
            }
        }
    }

    public struct Fill<T> : IRowKernel where T : unmanaged
    {
        public T* Y;
        public T Value;

        public void Run(long n, long oy, long sy, long o1, long s1, long o2, long s2, long o3, long s3)
        {
            if (sy == 1 && n <= int.MaxValue) new Span<T>(Y + oy, (int)n).Fill(Value);
            else for (long i = 0; i < n; i++) Y[oy + i * sy] = Value;
        }
    }

    public struct Copy<TFrom, TTo> : IRowKernel where TFrom : unmanaged, INumberBase<TFrom> where TTo : unmanaged, INumberBase<TTo>
    {
        public TTo* Y;
        public TFrom* X;

        public void Run(long n, long oy, long sy, long ox, long sx, long o2, long s2, long o3, long s3)
        {
            if (typeof(TFrom) == typeof(TTo) && sy == 1 && sx == 1)
            {
                Buffer.MemoryCopy(X + ox, Y + oy, n * sizeof(TTo), n * sizeof(TTo));
                return;
            }
            // Float to int truncates toward zero, as PyTorch's .to(torch.int64).
            for (long i = 0; i < n; i++) Y[oy + i * sy] = TTo.CreateTruncating(X[ox + i * sx]);
        }
    }
}
