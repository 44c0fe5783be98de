using System.Numerics;
using System.Numerics.Tensors;

namespace Framework.Backends.Cpu;

/// <summary>
/// Elementwise maths over contiguous rows. <c>TensorPrimitives</c> already has most ops vectorised
/// for float and double, so they are called directly; the rest are short <see cref="Vector{T}"/> loops.
/// </summary>
internal static partial class RowMath
{
    public static void Unary<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Relu: Relu(x, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Pow: Pow(x, y, a); break;
            case UnaryOp.Clamp: TensorPrimitives.Max(x, a, y); TensorPrimitives.Min(y, b, y); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(x, a, y); break;
            case UnaryOp.MulScalar: TensorPrimitives.Multiply(x, a, y); break;
            case UnaryOp.RSubScalar: TensorPrimitives.Subtract(a, x, y); break;
            case UnaryOp.RDivScalar: TensorPrimitives.Divide(a, x, y); break;
            case UnaryOp.LeakyRelu: LeakyRelu(x, y, a); break;
            default: throw new NotSupportedException($"unary op {op}");
        }
    }

    private static void Pow<T>(ReadOnlySpan<T> x, Span<T> y, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Common exponents get exact, fast forms; the general case uses pow.
        if (p == T.CreateTruncating(2)) TensorPrimitives.Multiply(x, x, y);
        else if (p == T.One) x.CopyTo(y);
        else if (p == T.CreateTruncating(0.5)) TensorPrimitives.Sqrt(x, y);
        else if (p == -T.One) TensorPrimitives.Divide(T.One, x, y);
        else TensorPrimitives.Pow(x, p, y);
    }

    private static void Relu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // max(x, 0) that keeps NaN (a NaN input must poison the output, as in PyTorch).
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<T>.Count;
            for (; i <= x.Length - w; i += w)
            {
                var v = new Vector<T>(x[i..]);
                Vector.ConditionalSelect(Vector.LessThan(v, Vector<T>.Zero), Vector<T>.Zero, v).CopyTo(y[i..]);
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] < T.Zero ? T.Zero : x[i];
    }

    private static void LeakyRelu<T>(ReadOnlySpan<T> x, Span<T> y, T slope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<T>.Count;
            var s = new Vector<T>(slope);
            for (; i <= x.Length - w; i += w)
            {
                var v = new Vector<T>(x[i..]);
                Vector.ConditionalSelect(Vector.LessThan(v, Vector<T>.Zero), v * s, v).CopyTo(y[i..]);
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] < T.Zero ? x[i] * slope : x[i];
    }

    /// <summary>Binary ops on contiguous rows of equal length.</summary>
    public static void Binary<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, T p, T q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); break;
            case BinaryOp.Maximum: TensorPrimitives.Max(a, b, y); break;
            case BinaryOp.Minimum: TensorPrimitives.Min(a, b, y); break;
            default:
                if (!TryMapped(op, a, b, y, p, q))
                    for (int i = 0; i < y.Length; i++) y[i] = Scalar(op, a[i], b[i], p, q);
                break;
        }
    }

    /// <summary>Binary op with <paramref name="b"/> a broadcast scalar.</summary>
    public static void BinaryScalarRight<T>(BinaryOp op, ReadOnlySpan<T> a, T b, Span<T> y, T p, T q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); break;
            case BinaryOp.Maximum: TensorPrimitives.Max(a, b, y); break;
            case BinaryOp.Minimum: TensorPrimitives.Min(a, b, y); break;
            default:
                for (int i = 0; i < y.Length; i++) y[i] = Scalar(op, a[i], b, p, q);
                break;
        }
    }

    /// <summary>Binary op with <paramref name="a"/> a broadcast scalar.</summary>
    public static void BinaryScalarLeft<T>(BinaryOp op, T a, ReadOnlySpan<T> b, Span<T> y, T p, T q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(b, a, y); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(b, a, y); break;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); break;
            default:
                for (int i = 0; i < y.Length; i++) y[i] = Scalar(op, a, b[i], p, q);
                break;
        }
    }

    public static T Scalar<T>(BinaryOp op, T a, T b, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Maximum => T.IsNaN(a) || T.IsNaN(b) ? T.NaN : T.Max(a, b),
        BinaryOp.Minimum => T.IsNaN(a) || T.IsNaN(b) ? T.NaN : T.Min(a, b),
        BinaryOp.Eq => a == b ? T.One : T.Zero,
        BinaryOp.Ne => a != b ? T.One : T.Zero,
        BinaryOp.Lt => a < b ? T.One : T.Zero,
        BinaryOp.Le => a <= b ? T.One : T.Zero,
        BinaryOp.Gt => a > b ? T.One : T.Zero,
        BinaryOp.Ge => a >= b ? T.One : T.Zero,
        BinaryOp.ReluBackward => b > T.Zero ? a : T.Zero,
        BinaryOp.LeakyReluBackward => b > T.Zero ? a : a * p,
        BinaryOp.SigmoidBackward => a * b * (T.One - b),
        BinaryOp.TanhBackward => a * (T.One - b * b),
        BinaryOp.AbsBackward => b > T.Zero ? a : b < T.Zero ? -a : T.Zero,
        BinaryOp.ClampBackward => b >= p && b <= q ? a : T.Zero,
        _ => throw new NotSupportedException($"binary op {op}"),
    };

    /// <summary>Integer binary ops (int64 tensors: label arithmetic and comparisons).</summary>
    public static long ScalarInt(BinaryOp op, long a, long b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => b == 0 ? throw new DivideByZeroException("int64 division by zero") : a / b,
        BinaryOp.Maximum => Math.Max(a, b),
        BinaryOp.Minimum => Math.Min(a, b),
        BinaryOp.Eq => a == b ? 1 : 0,
        BinaryOp.Ne => a != b ? 1 : 0,
        BinaryOp.Lt => a < b ? 1 : 0,
        BinaryOp.Le => a <= b ? 1 : 0,
        BinaryOp.Gt => a > b ? 1 : 0,
        BinaryOp.Ge => a >= b ? 1 : 0,
        _ => throw new NotSupportedException($"binary op {op} on int64"),
    };

    /// <summary>Integer unary ops; the float-only ones are refused before reaching the backend.</summary>
    public static long UnaryInt(UnaryOp op, long x, long a, long b) => op switch
    {
        UnaryOp.Neg => -x,
        UnaryOp.Abs => Math.Abs(x),
        UnaryOp.Relu => Math.Max(x, 0),
        UnaryOp.Clamp => Math.Min(Math.Max(x, a), b),
        UnaryOp.AddScalar => x + a,
        UnaryOp.MulScalar => x * a,
        UnaryOp.RSubScalar => a - x,
        _ => throw new NotSupportedException($"unary op {op} on int64"),
    };
}
