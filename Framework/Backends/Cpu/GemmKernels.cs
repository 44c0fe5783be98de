using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Framework.Backends.Cpu;

/// <summary>
/// A register-tiled GEMM micro-kernel: C[MR x NR] (+)= Apanel * Bpanel over kc steps, where the packed
/// A micro-panel holds MR values per k step and the packed B micro-panel NR values per k step
/// (see <see cref="GemmDriver{T, TK}"/> for the packing layout).
/// </summary>
/// <remarks>
/// Kernels are structs with static members so the generic driver is specialised per kernel by the JIT:
/// MR and NR become constants and <c>Run</c> is a direct call.
/// </remarks>
internal unsafe interface IGemmKernel<T> where T : unmanaged
{
    /// <summary>Rows of C per micro-tile (values of A broadcast per k step).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per micro-tile (values of B loaded as vectors per k step).</summary>
    static abstract int NR { get; }

    /// <summary>
    /// Computes the full MR x NR tile. <paramref name="add"/> false overwrites C without reading it,
    /// so garbage or NaN already in C never leaks into the result.
    /// </summary>
    static abstract void Run(int kc, T* a, T* b, T* c, nint ldc, bool add);
}

/// <summary>
/// AVX-512 micro-kernel: 8 rows x 2 vectors (32 floats / 16 doubles) = 16 zmm accumulators.
/// </summary>
/// <remarks>
/// Why 8 x 2 vectors: 16 accumulators + 2 B vectors + broadcasts fit in the 32 zmm registers without
/// spills, and 16 independent FMA chains per k step cover the FMA latency (4 cycles) x throughput
/// (2 per cycle) = 8 chains needed on Zen 4/5 and Skylake-X. Each k step issues 16 FMAs against 2 vector
/// loads and 8 broadcast loads (the JIT emits vbroadcastss from memory; the loop has no spills), which
/// keeps the load ports under the FMA ports. A 12 x 2 tile (24 accumulators) measured the same on Zen 5:
/// ~265 GFLOP/s per core with packed operands in L1, and no faster in the driver.
/// </remarks>
internal unsafe struct GemmKernel512<T> : IGemmKernel<T> where T : unmanaged, INumber<T>
{
    public static int MR => 8;
    public static int NR => 2 * Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, T* a, T* b, T* c, nint ldc, bool add)
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + w);
            Vector512<T> x = Vector512.Create(a[0]);
            c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            x = Vector512.Create(a[6]);
            c60 = Fma(x, b0, c60); c61 = Fma(x, b1, c61);
            x = Vector512.Create(a[7]);
            c70 = Fma(x, b0, c70); c71 = Fma(x, b1, c71);
            a += 8;
            b += 2 * w;
        }
        StoreRow(c, w, c00, c01, add); c += ldc;
        StoreRow(c, w, c10, c11, add); c += ldc;
        StoreRow(c, w, c20, c21, add); c += ldc;
        StoreRow(c, w, c30, c31, add); c += ldc;
        StoreRow(c, w, c40, c41, add); c += ldc;
        StoreRow(c, w, c50, c51, add); c += ldc;
        StoreRow(c, w, c60, c61, add); c += ldc;
        StoreRow(c, w, c70, c71, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow(T* c, int w, Vector512<T> v0, Vector512<T> v1, bool add)
    {
        if (add)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + w);
        }
        v0.Store(c);
        v1.Store(c + w);
    }

    // The JIT removes the type test per instantiation; FusedMultiplyAdd has no generic overload.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> Fma(Vector512<T> x, Vector512<T> y, Vector512<T> acc)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
    }
}

/// <summary>
/// AVX2/FMA micro-kernel: 6 rows x 2 vectors (16 floats / 8 doubles) = 12 ymm accumulators.
/// </summary>
/// <remarks>
/// Why 6 x 2: with only 16 ymm registers, 12 accumulators + 2 B vectors + 1 broadcast is the largest
/// tile without spills (the classic Haswell BLIS/OpenBLAS shape).
/// </remarks>
internal unsafe struct GemmKernel256<T> : IGemmKernel<T> where T : unmanaged, INumber<T>
{
    public static int MR => 6;
    public static int NR => 2 * Vector256<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, T* a, T* b, T* c, nint ldc, bool add)
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<T> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(b), b1 = Vector256.Load(b + w);
            Vector256<T> x = Vector256.Create(a[0]);
            c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            a += 6;
            b += 2 * w;
        }
        StoreRow(c, w, c00, c01, add); c += ldc;
        StoreRow(c, w, c10, c11, add); c += ldc;
        StoreRow(c, w, c20, c21, add); c += ldc;
        StoreRow(c, w, c30, c31, add); c += ldc;
        StoreRow(c, w, c40, c41, add); c += ldc;
        StoreRow(c, w, c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow(T* c, int w, Vector256<T> v0, Vector256<T> v1, bool add)
    {
        if (add)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + w);
        }
        v0.Store(c);
        v1.Store(c + w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> Fma(Vector256<T> x, Vector256<T> y, Vector256<T> acc)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
    }
}

/// <summary>
/// Portable scalar micro-kernel (4 x 4) for hardware without AVX2+FMA or AVX-512 (e.g. Arm today).
/// Correct everywhere; the blocking still gives it cache-friendly access.
/// </summary>
internal unsafe struct GemmKernelScalar<T> : IGemmKernel<T> where T : unmanaged, INumber<T>
{
    public static int MR => 4;
    public static int NR => 4;

    public static void Run(int kc, T* a, T* b, T* c, nint ldc, bool add)
    {
        T* acc = stackalloc T[16];
        for (int i = 0; i < 16; i++) acc[i] = T.Zero;
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < 4; r++)
            {
                T x = a[r];
                acc[r * 4 + 0] += x * b[0];
                acc[r * 4 + 1] += x * b[1];
                acc[r * 4 + 2] += x * b[2];
                acc[r * 4 + 3] += x * b[3];
            }
            a += 4;
            b += 4;
        }
        for (int r = 0; r < 4; r++)
        {
            T* row = c + r * ldc;
            for (int j = 0; j < 4; j++)
                row[j] = add ? row[j] + acc[r * 4 + j] : acc[r * 4 + j];
        }
    }
}
