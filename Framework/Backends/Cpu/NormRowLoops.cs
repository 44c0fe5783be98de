using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Framework.Backends.Cpu;

/// <summary>LayerNorm's loops: like the plane loops, but gamma and beta vary along the run (one per element).</summary>
internal static unsafe partial class NormLoops
{
    /// <summary>y = ((x - mh) - ml) r gamma[i] + beta[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ApplyRow<T>(T* x, T* y, nint n, T mh, T ml, T r, T* gamma, T* beta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) ApplyRowCore<T, Vector512<T>, Vec512<T>>(x, y, n, mh, ml, r, gamma, beta);
        else if (Vector256.IsHardwareAccelerated) ApplyRowCore<T, Vector256<T>, Vec256<T>>(x, y, n, mh, ml, r, gamma, beta);
        else ApplyRowCore<T, T, Scalar<T>>(x, y, n, mh, ml, r, gamma, beta);
    }

    /// <summary>sg = sum dy gamma[i], sgd = sum dy gamma[i] (x - m).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RowGradSums<T>(T* x, T* dy, T* gamma, nint n, T m, out T sg, out T sgd) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) RowGradSumsCore<T, Vector512<T>, Vec512<T>>(x, dy, gamma, n, m, out sg, out sgd);
        else if (Vector256.IsHardwareAccelerated) RowGradSumsCore<T, Vector256<T>, Vec256<T>>(x, dy, gamma, n, m, out sg, out sgd);
        else RowGradSumsCore<T, T, Scalar<T>>(x, dy, gamma, n, m, out sg, out sgd);
    }

    /// <summary>
    /// dx = r gamma[i] dy + b (x - m) + k, and the parameter gradients of this row added to the
    /// partials: dgamma[i] += dy (x - m) r, dbeta[i] += dy (x and dy are read once for all three).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RowDx<T>(T* x, T* dy, T* gamma, T* dx, nint n, T m, T r, T b, T k, T* dgamma, T* dbeta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated) RowDxCore<T, Vector512<T>, Vec512<T>>(x, dy, gamma, dx, n, m, r, b, k, dgamma, dbeta);
        else if (Vector256.IsHardwareAccelerated) RowDxCore<T, Vector256<T>, Vec256<T>>(x, dy, gamma, dx, n, m, r, b, k, dgamma, dbeta);
        else RowDxCore<T, T, Scalar<T>>(x, dy, gamma, dx, n, m, r, b, k, dgamma, dbeta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyRowCore<T, TV, TO>(T* x, T* y, nint n, T mh, T ml, T r, T* gamma, T* beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vh = TO.Splat(mh), vl = TO.Splat(ml), vr = TO.Splat(r);
        for (; i <= n - w; i += w)
        {
            TV xh = TO.Mul(TO.Sub(TO.Sub(TO.Load(x + i), vh), vl), vr);
            TO.Store(TO.Fma(xh, TO.Load(gamma + i), TO.Load(beta + i)), y + i);
        }
        for (; i < n; i++) y[i] = (x[i] - mh - ml) * r * gamma[i] + beta[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowGradSumsCore<T, TV, TO>(T* x, T* dy, T* gamma, nint n, T m, out T sg, out T sgd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vm = TO.Splat(m), g0 = TO.Splat(T.Zero), h0 = g0;
        for (; i <= n - w; i += w)
        {
            TV gp = TO.Mul(TO.Load(dy + i), TO.Load(gamma + i));
            g0 = TO.Add(g0, gp);
            h0 = TO.Fma(gp, TO.Sub(TO.Load(x + i), vm), h0);
        }
        T s1 = TO.Sum(g0), s2 = TO.Sum(h0);
        for (; i < n; i++)
        {
            T gp = dy[i] * gamma[i];
            s1 += gp; s2 += gp * (x[i] - m);
        }
        sg = s1; sgd = s2;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowDxCore<T, TV, TO>(T* x, T* dy, T* gamma, T* dx, nint n, T m, T r, T b, T k, T* dgamma, T* dbeta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TV : unmanaged where TO : INormVec<TV, T>
    {
        nint w = TO.Count, i = 0;
        TV vm = TO.Splat(m), vr = TO.Splat(r), vb = TO.Splat(b), vk = TO.Splat(k);
        for (; i <= n - w; i += w)
        {
            TV d = TO.Sub(TO.Load(x + i), vm), g = TO.Load(dy + i);
            if (dx != null)
                TO.Store(TO.Fma(TO.Mul(vr, TO.Load(gamma + i)), g, TO.Fma(vb, d, vk)), dx + i);
            if (dgamma != null) TO.Store(TO.Fma(TO.Mul(g, d), vr, TO.Load(dgamma + i)), dgamma + i);
            if (dbeta != null) TO.Store(TO.Add(g, TO.Load(dbeta + i)), dbeta + i);
        }
        for (; i < n; i++)
        {
            T d = x[i] - m, g = dy[i];
            if (dx != null) dx[i] = r * gamma[i] * g + (b * d + k);
            if (dgamma != null) dgamma[i] += g * d * r;
            if (dbeta != null) dbeta[i] += g;
        }
    }
}
