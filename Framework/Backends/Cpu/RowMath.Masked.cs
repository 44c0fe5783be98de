using System.Numerics;

namespace Framework.Backends.Cpu;

/// <summary>An elementwise op of two rows with two scalar parameters, in vector and scalar form.</summary>
internal interface IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract Vector<T> Apply(Vector<T> a, Vector<T> b, Vector<T> p, Vector<T> q);
    static abstract T Apply(T a, T b, T p, T q);
}

// The ops that TensorPrimitives does not have: backward masks of the activations and comparisons.
// Each is a branch-free select so the loop vectorises; a per-element switch on the op would cost
// more than the memory traffic (it made relu's backward 10x slower than its forward).
internal static partial class RowMath
{
    private static void Map<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, T p, T q)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryVectorOp<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<T>.Count;
            var vp = new Vector<T>(p);
            var vq = new Vector<T>(q);
            for (; i <= y.Length - w; i += w)
                TOp.Apply(new Vector<T>(a[i..]), new Vector<T>(b[i..]), vp, vq).CopyTo(y[i..]);
        }
        for (; i < y.Length; i++) y[i] = TOp.Apply(a[i], b[i], p, q);
    }

    /// <summary>Vectorised forms of the ops the switch in <see cref="Binary{T}"/> does not send to TensorPrimitives; false if none.</summary>
    private static bool TryMapped<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, T p, T q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.ReluBackward: Map<T, ReluBackwardOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.LeakyReluBackward: Map<T, LeakyReluBackwardOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.SigmoidBackward: Map<T, SigmoidBackwardOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.TanhBackward: Map<T, TanhBackwardOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.AbsBackward: Map<T, AbsBackwardOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.ClampBackward: Map<T, ClampBackwardOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.Eq: Map<T, EqOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.Ne: Map<T, NeOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.Lt: Map<T, LtOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.Le: Map<T, LeOp<T>>(a, b, y, p, q); return true;
            case BinaryOp.Gt: Map<T, LtOp<T>>(b, a, y, p, q); return true;
            case BinaryOp.Ge: Map<T, LeOp<T>>(b, a, y, p, q); return true;
            default: return false;
        }
    }

    private static Vector<T> Mask<T>(Vector<T> condition) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector.ConditionalSelect(condition, Vector<T>.One, Vector<T>.Zero);

    private struct ReluBackwardOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector<T> Apply(Vector<T> g, Vector<T> x, Vector<T> p, Vector<T> q) =>
            Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), g, Vector<T>.Zero);
        public static T Apply(T g, T x, T p, T q) => x > T.Zero ? g : T.Zero;
    }

    private struct LeakyReluBackwardOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector<T> Apply(Vector<T> g, Vector<T> x, Vector<T> p, Vector<T> q) =>
            Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), g, g * p);
        public static T Apply(T g, T x, T p, T q) => x > T.Zero ? g : g * p;
    }

    private struct SigmoidBackwardOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // g * y * (1 - y)
        public static Vector<T> Apply(Vector<T> g, Vector<T> y, Vector<T> p, Vector<T> q) => g * y * (Vector<T>.One - y);
        public static T Apply(T g, T y, T p, T q) => g * y * (T.One - y);
    }

    private struct TanhBackwardOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // g * (1 - y^2)
        public static Vector<T> Apply(Vector<T> g, Vector<T> y, Vector<T> p, Vector<T> q) => g * (Vector<T>.One - y * y);
        public static T Apply(T g, T y, T p, T q) => g * (T.One - y * y);
    }

    private struct AbsBackwardOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // g * sign(x), with sign(0) = 0
        public static Vector<T> Apply(Vector<T> g, Vector<T> x, Vector<T> p, Vector<T> q) =>
            Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), g,
                Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), -g, Vector<T>.Zero));
        public static T Apply(T g, T x, T p, T q) => x > T.Zero ? g : x < T.Zero ? -g : T.Zero;
    }

    private struct ClampBackwardOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // g where min <= x <= max
        public static Vector<T> Apply(Vector<T> g, Vector<T> x, Vector<T> lo, Vector<T> hi) =>
            Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, lo) & Vector.LessThanOrEqual(x, hi), g, Vector<T>.Zero);
        public static T Apply(T g, T x, T lo, T hi) => x >= lo && x <= hi ? g : T.Zero;
    }

    private struct EqOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector<T> Apply(Vector<T> a, Vector<T> b, Vector<T> p, Vector<T> q) => Mask(Vector.Equals(a, b));
        public static T Apply(T a, T b, T p, T q) => a == b ? T.One : T.Zero;
    }

    private struct NeOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // NaN != NaN is true, so this is the complement of Equals rather than an ordered compare.
        public static Vector<T> Apply(Vector<T> a, Vector<T> b, Vector<T> p, Vector<T> q) =>
            Vector.ConditionalSelect(Vector.Equals(a, b), Vector<T>.Zero, Vector<T>.One);
        public static T Apply(T a, T b, T p, T q) => a != b ? T.One : T.Zero;
    }

    private struct LtOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector<T> Apply(Vector<T> a, Vector<T> b, Vector<T> p, Vector<T> q) => Mask(Vector.LessThan(a, b));
        public static T Apply(T a, T b, T p, T q) => a < b ? T.One : T.Zero;
    }

    private struct LeOp<T> : IBinaryVectorOp<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector<T> Apply(Vector<T> a, Vector<T> b, Vector<T> p, Vector<T> q) => Mask(Vector.LessThanOrEqual(a, b));
        public static T Apply(T a, T b, T p, T q) => a <= b ? T.One : T.Zero;
    }
}
