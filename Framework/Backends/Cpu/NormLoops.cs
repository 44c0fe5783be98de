using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Framework.Backends.Cpu;

/// <summary>
/// Innermost loops of the normalization kernels over one contiguous run of elements. Each is
/// written once over <see cref="INormVec{TV, T}"/> and dispatched to the widest accelerated vector
/// (the checks are JIT-time constants). Reductions return partial sums in the element type;
/// callers keep runs short (<see cref="NormMoments.ChunkLength{T}"/>) and merge the partials in
/// double, which is how float32 data keeps its precision.
/// </summary>
internal static unsafe partial class NormLoops
{
    /// <summary>s = sum p[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum<T>(T* p, nint n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) return SumCore<T, Vector512<T>, Vec512<T>>(p, n);
        if (Vector256.IsHardwareAccelerated) return SumCore<T, Vector256<T>, Vec256<T>>(p, n);
        return SumCore<T, T, Scalar<T>>(p, n);
    }

    /// <summary>sd = sum (p[i] - m), sq = sum (p[i] - m)^2: the second pass of an exact two-pass variance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CenteredSums<T>(T* p, nint n, T m, out T sd, out T sq) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) CenteredCore<T, Vector512<T>, Vec512<T>>(p, n, m, out sd, out sq);
        else if (Vector256.IsHardwareAccelerated) CenteredCore<T, Vector256<T>, Vec256<T>>(p, n, m, out sd, out sq);
        else CenteredCore<T, T, Scalar<T>>(p, n, m, out sd, out sq);
    }

    /// <summary>
    /// y = ((x - mh) - ml) * a + b. The mean is passed as a hi/lo pair (mh + ml = mean in double) so
    /// that x - mh is exact for x near the mean (Sterbenz) and the float rounding of a large mean
    /// (ulp(1e4) ~ 1e-3 in float32) does not reach the output. ml = 0 when only a T mean is known.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply<T>(T* x, T* y, nint n, T mh, T ml, T a, T b, bool stream = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) ApplyCore<T, Vector512<T>, Vec512<T>>(x, y, n, mh, ml, a, b, stream);
        else if (Vector256.IsHardwareAccelerated) ApplyCore<T, Vector256<T>, Vec256<T>>(x, y, n, mh, ml, a, b, stream);
        else ApplyCore<T, T, Scalar<T>>(x, y, n, mh, ml, a, b, false);
    }

    /// <summary>sg = sum dy, sgd = sum dy * (x - m): the two backward reductions (sum g, sum g*xhat/rstd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GradSums<T>(T* x, T* dy, nint n, T m, out T sg, out T sgd) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) GradSumsCore<T, Vector512<T>, Vec512<T>>(x, dy, n, m, out sg, out sgd);
        else if (Vector256.IsHardwareAccelerated) GradSumsCore<T, Vector256<T>, Vec256<T>>(x, dy, n, m, out sg, out sgd);
        else GradSumsCore<T, T, Scalar<T>>(x, dy, n, m, out sg, out sgd);
    }

    /// <summary>dx = a * dy + b * (x - m) + k: the whole backward formula once the reductions are folded into a, b, k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dx<T>(T* x, T* dy, T* dx, nint n, T m, T a, T b, T k, bool stream = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) DxCore<T, Vector512<T>, Vec512<T>>(x, dy, dx, n, m, a, b, k, stream);
        else if (Vector256.IsHardwareAccelerated) DxCore<T, Vector256<T>, Vec256<T>>(x, dy, dx, n, m, a, b, k, stream);
        else DxCore<T, T, Scalar<T>>(x, dy, dx, n, m, a, b, k, false);
    }

    /// <summary>dx = a * dy (backward through running statistics: the normalisation is a fixed affine map).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale<T>(T* dy, T* dx, nint n, T a, bool stream = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Apply(dy, dx, n, T.Zero, T.Zero, a, T.Zero, stream);

    /// <summary>
    /// Elements to handle one by one before y + i is aligned for streaming stores; the stores of a
    /// streamed loop are made visible to other threads by the fence the caller issues at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint StreamPeel<T>(T* y, nint w, nint n) where T : unmanaged
    {
        nint bytes = w * sizeof(T), mis = (nint)((nuint)y % (nuint)bytes);
        if (mis % sizeof(T) != 0) return n; // not even element-aligned: never stream
        return Math.Min(n, (bytes - mis) % bytes / sizeof(T));
    }

    // Four independent accumulators hide the add latency when the run is L1-resident (second pass).
    private static T SumCore<T, TV, TO>(T* p, nint n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV a0 = TO.Splat(T.Zero), a1 = a0, a2 = a0, a3 = a0;
        for (; i <= n - 4 * w; i += 4 * w)
        {
            a0 = TO.Add(a0, TO.Load(p + i));
            a1 = TO.Add(a1, TO.Load(p + i + w));
            a2 = TO.Add(a2, TO.Load(p + i + 2 * w));
            a3 = TO.Add(a3, TO.Load(p + i + 3 * w));
        }
        for (; i <= n - w; i += w) a0 = TO.Add(a0, TO.Load(p + i));
        T s = TO.Sum(TO.Add(TO.Add(a0, a1), TO.Add(a2, a3)));
        for (; i < n; i++) s += p[i];
        return s;
    }

    private static void CenteredCore<T, TV, TO>(T* p, nint n, T m, out T sd, out T sq)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vm = TO.Splat(m);
        TV d0 = TO.Splat(T.Zero), d1 = d0, q0 = d0, q1 = d0;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            TV e0 = TO.Sub(TO.Load(p + i), vm);
            TV e1 = TO.Sub(TO.Load(p + i + w), vm);
            d0 = TO.Add(d0, e0); q0 = TO.Fma(e0, e0, q0);
            d1 = TO.Add(d1, e1); q1 = TO.Fma(e1, e1, q1);
        }
        for (; i <= n - w; i += w)
        {
            TV e0 = TO.Sub(TO.Load(p + i), vm);
            d0 = TO.Add(d0, e0); q0 = TO.Fma(e0, e0, q0);
        }
        T s1 = TO.Sum(TO.Add(d0, d1)), s2 = TO.Sum(TO.Add(q0, q1));
        for (; i < n; i++)
        {
            T e = p[i] - m;
            s1 += e; s2 += e * e;
        }
        sd = s1; sq = s2;
    }

    private static void ApplyCore<T, TV, TO>(T* x, T* y, nint n, T mh, T ml, T a, T b, bool stream)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vh = TO.Splat(mh), vl = TO.Splat(ml), va = TO.Splat(a), vb = TO.Splat(b);
        if (stream && n >= 4 * w)
        {
            for (nint peel = StreamPeel(y, w, n); i < peel; i++) y[i] = (x[i] - mh - ml) * a + b;
            for (; i <= n - w; i += w)
                TO.Stream(TO.Fma(TO.Sub(TO.Sub(TO.Load(x + i), vh), vl), va, vb), y + i);
        }
        for (; i <= n - 2 * w; i += 2 * w)
        {
            TV r0 = TO.Fma(TO.Sub(TO.Sub(TO.Load(x + i), vh), vl), va, vb);
            TV r1 = TO.Fma(TO.Sub(TO.Sub(TO.Load(x + i + w), vh), vl), va, vb);
            TO.Store(r0, y + i);
            TO.Store(r1, y + i + w);
        }
        for (; i <= n - w; i += w)
            TO.Store(TO.Fma(TO.Sub(TO.Sub(TO.Load(x + i), vh), vl), va, vb), y + i);
        for (; i < n; i++) y[i] = (x[i] - mh - ml) * a + b;
    }

    private static void GradSumsCore<T, TV, TO>(T* x, T* dy, nint n, T m, out T sg, out T sgd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vm = TO.Splat(m);
        TV g0 = TO.Splat(T.Zero), g1 = g0, h0 = g0, h1 = g0;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            TV dy0 = TO.Load(dy + i), dy1 = TO.Load(dy + i + w);
            g0 = TO.Add(g0, dy0); h0 = TO.Fma(dy0, TO.Sub(TO.Load(x + i), vm), h0);
            g1 = TO.Add(g1, dy1); h1 = TO.Fma(dy1, TO.Sub(TO.Load(x + i + w), vm), h1);
        }
        for (; i <= n - w; i += w)
        {
            TV dy0 = TO.Load(dy + i);
            g0 = TO.Add(g0, dy0); h0 = TO.Fma(dy0, TO.Sub(TO.Load(x + i), vm), h0);
        }
        T s1 = TO.Sum(TO.Add(g0, g1)), s2 = TO.Sum(TO.Add(h0, h1));
        for (; i < n; i++)
        {
            s1 += dy[i]; s2 += dy[i] * (x[i] - m);
        }
        sg = s1; sgd = s2;
    }

    private static void DxCore<T, TV, TO>(T* x, T* dy, T* dx, nint n, T m, T a, T b, T k, bool stream)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vm = TO.Splat(m), va = TO.Splat(a), vb = TO.Splat(b), vk = TO.Splat(k);
        if (stream && n >= 4 * w)
        {
            for (nint peel = StreamPeel(dx, w, n); i < peel; i++) dx[i] = a * dy[i] + (b * (x[i] - m) + k);
            for (; i <= n - w; i += w)
                TO.Stream(TO.Fma(va, TO.Load(dy + i), TO.Fma(vb, TO.Sub(TO.Load(x + i), vm), vk)), dx + i);
        }
        for (; i <= n - 2 * w; i += 2 * w)
        {
            TV r0 = TO.Fma(va, TO.Load(dy + i), TO.Fma(vb, TO.Sub(TO.Load(x + i), vm), vk));
            TV r1 = TO.Fma(va, TO.Load(dy + i + w), TO.Fma(vb, TO.Sub(TO.Load(x + i + w), vm), vk));
            TO.Store(r0, dx + i);
            TO.Store(r1, dx + i + w);
        }
        for (; i <= n - w; i += w)
            TO.Store(TO.Fma(va, TO.Load(dy + i), TO.Fma(vb, TO.Sub(TO.Load(x + i), vm), vk)), dx + i);
        for (; i < n; i++) dx[i] = a * dy[i] + (b * (x[i] - m) + k);
    }
}
