using Framework.Backends;
using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// conv.ptx and pool.ptx against the CPU backend on edge shapes, checks on, cache off. im2col,
/// col2im and pooling repeat the CPU's operations in the CPU's order, so they must agree exactly in
/// both dtypes (col2im and the average-pool backward are gathers that add in the CPU's scatter
/// order). Conv2d adds cuBLAS products, whose summation order differs from the CPU GEMM's: float64
/// within 1e-12 relative, float32 within 1e-6 of the sum of the magnitudes of the k products
/// (k * |x| * |w|, a few ulp of the worst-case partial sum).
/// </summary>
public class ConvPoolKernelTests : KernelEdgeTestBase
{
    /// <summary>(N, C, H, W, OutC, KH, KW, SH, SW, PH, PW, DH, DW, Groups): 1 element, planes around 32/256/1024, odd sizes.</summary>
    private static readonly Conv2dGeometry[] Geometries =
    [
        new(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1),
        new(2, 3, 5, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        new(3, 4, 6, 5, 6, 3, 2, 2, 1, 1, 2, 1, 2, 2),
        new(1, 3, 7, 9, 3, 3, 3, 2, 3, 2, 1, 2, 1, 3),
        new(2, 2, 4, 8, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1),
        new(2, 4, 9, 9, 4, 1, 1, 2, 2, 0, 0, 1, 1, 2),
        new(1, 1, 33, 31, 2, 5, 5, 3, 3, 2, 2, 1, 1, 1),
        new(2, 1, 16, 16, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        new(1, 2, 17, 15, 2, 2, 2, 1, 1, 0, 0, 1, 1, 1),
        new(1, 1, 32, 32, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        new(1, 1, 33, 31, 1, 2, 3, 1, 1, 1, 0, 1, 1, 1),
        new(1, 1, 3, 3, 2, 5, 5, 1, 1, 2, 2, 1, 1, 1),
    ];

    private static string Describe(Conv2dGeometry g) =>
        $"N{g.N} C{g.C} {g.H}x{g.W} -> {g.OutC} k{g.KH}x{g.KW} s{g.SH},{g.SW} p{g.PH},{g.PW} d{g.DH},{g.DW} g{g.Groups}";

    [Test]
    public void Im2ColAndCol2ImMatchTheCpuExactly([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        foreach (var g in Geometries)
        {
            using var x = Random([g.N, g.C, g.H, g.W], dtype, g.H * 31 + g.W);
            int[] colShape = [g.N, g.ColRows, g.ColCols];
            using var cols = EmptyCpu(colShape, dtype);
            using var colsGpu = EmptyGpu(colShape, dtype);
            using var xg = x.To(Dev);
            Cpu.Im2Col(x, cols, g);
            Gpu.Im2Col(xg, colsGpu, g);
            AssertClose(cols, colsGpu, 0, 0, "im2col " + Describe(g));
            using var c = Random(colShape, dtype, g.KH * 7 + g.KW);
            using var cg = c.To(Dev);
            using var back = EmptyCpu([g.N, g.C, g.H, g.W], dtype);
            using var backGpu = EmptyGpu([g.N, g.C, g.H, g.W], dtype);
            Cpu.Col2Im(c, back, g);
            Gpu.Col2Im(cg, backGpu, g);
            AssertClose(back, backGpu, 0, 0, "col2im " + Describe(g));
        }
    }

    [Test]
    public void Conv2dForwardAndBackwardMatchTheCpu([Values(DType.Float32, DType.Float64)] DType dtype, [Values(false, true)] bool bias)
    {
        foreach (var g in Geometries) CheckConv(g, dtype, bias);
    }

    [Test]
    public void Conv2dInSeveralColumnChunks()
    {
        // A 1-byte budget gives one sample per chunk (and per weight-gradient partial): the chunk offsets
        // of x, y, dy and dx are exercised.
        var backend = (CudaBackend)Gpu;
        backend.ColumnBudgetBytes = 1;
        try
        {
            CheckConv(new(3, 4, 6, 5, 6, 3, 2, 2, 1, 1, 2, 1, 2, 2), DType.Float64, bias: true);
            CheckConv(new(3, 2, 4, 8, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1), DType.Float32, bias: false);
            // Columns 72 x 8 B per sample, weight partials 216 x 8 B: 3456 B holds all 5 samples' columns but
            // only 2 partial weight gradients, so they are summed in sub-batches of 2, 2 and a lone 1.
            backend.ColumnBudgetBytes = 3456;
            CheckConv(new(5, 2, 2, 2, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1), DType.Float64, bias: true);
        }
        finally
        {
            backend.ColumnBudgetBytes = 64L << 20;
        }
    }

    private void CheckConv(Conv2dGeometry g, DType dtype, bool bias)
    {
        string what = $"conv {dtype} {Describe(g)} bias={bias}";
        int seed = g.H * 13 + g.KW;
        using var x = Random([g.N, g.C, g.H, g.W], dtype, seed);
        using var w = Random([g.OutC, g.C / g.Groups, g.KH, g.KW], dtype, seed + 1, -1, 1);
        using var b = bias ? Random([g.OutC], dtype, seed + 2) : null;
        using var dy = Random([g.N, g.OutC, g.OH, g.OW], dtype, seed + 3, -1, 1);
        using var xg = x.To(Dev);
        using var wg = w.To(Dev);
        using var bg = b?.To(Dev);
        using var dyg = dy.To(Dev);
        int[] yShape = [g.N, g.OutC, g.OH, g.OW];
        using var y = EmptyCpu(yShape, dtype);
        using var yg = EmptyGpu(yShape, dtype);
        Cpu.Conv2d(x, w, b, y, g);
        Gpu.Conv2d(xg, wg, bg, yg, g);
        int k = g.ColRows / g.Groups;
        // |x| <= 2, |w| <= 1, |dy| <= 1: each output is a sum of k (forward), L*N (weight grad) or
        // OutC/G * KH*KW (input grad) products bounded by 2.
        double f32 = dtype == DType.Float32 ? 1 : 0, f64 = 1 - f32;
        AssertClose(y, yg, 1e-12 * f64, f32 * 1e-6 * 2 * k + f64 * 1e-13, what + " y");
        using var dx = EmptyCpu([g.N, g.C, g.H, g.W], dtype);
        using var dxg = EmptyGpu([g.N, g.C, g.H, g.W], dtype);
        using var dw = EmptyCpu(w.Shape, dtype);
        using var dwg = EmptyGpu(w.Shape, dtype);
        using var db = bias ? EmptyCpu([g.OutC], dtype) : null;
        using var dbg = bias ? EmptyGpu([g.OutC], dtype) : null;
        Cpu.Conv2dBackward(x, w, dy, dx, dw, db, g);
        Gpu.Conv2dBackward(xg, wg, dyg, dxg, dwg, dbg, g);
        AssertClose(dx, dxg, 1e-12 * f64, f32 * 1e-6 * 2 * g.OutC * g.KH * g.KW + f64 * 1e-13, what + " dx");
        AssertClose(dw, dwg, 1e-12 * f64, f32 * 1e-6 * 2 * g.N * g.ColCols + f64 * 1e-13, what + " dweight");
        if (bias) AssertClose(db!, dbg!, 1e-12 * f64, f32 * 1e-6 * g.N * g.ColCols + f64 * 1e-13, what + " dbias");
        // Only some gradients requested: the others are left alone and nothing else breaks.
        Gpu.Conv2dBackward(xg, wg, dyg, null, dwg, null, g);
        AssertClose(dw, dwg, 1e-12 * f64, f32 * 1e-6 * 2 * g.N * g.ColCols + f64 * 1e-13, what + " dweight alone");
        Gpu.Conv2dBackward(xg, wg, dyg, dxg, null, null, g);
        AssertClose(dx, dxg, 1e-12 * f64, f32 * 1e-6 * 2 * g.OutC * g.KH * g.KW + f64 * 1e-13, what + " dx alone");
    }

    [Test]
    public void MoreRowsThanTheGridHas()
    {
        // The plane walk launches at most 16384 / grid-x blocks along y; 20000 planes (and 18000 column
        // rows) make blocks loop over rows. Tiny planes keep it fast.
        var conv = new Conv2dGeometry(1, 2000, 1, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        CheckConv(conv, DType.Float32, bias: true);
        var pool = Pool(2, 10000, 2, 3, 2, 2, 1, 0);
        using var x = Random([pool.N, pool.C, pool.H, pool.W], DType.Float32, 5);
        using var xg = x.To(Dev);
        int[] shape = [pool.N, pool.C, pool.OH, pool.OW];
        using var y = EmptyCpu(shape, DType.Float32);
        using var yg = EmptyGpu(shape, DType.Float32);
        using var i = EmptyCpu(shape, DType.Int64);
        using var ig = EmptyGpu(shape, DType.Int64);
        Cpu.MaxPool2d(x, y, i, pool);
        Gpu.MaxPool2d(xg, yg, ig, pool);
        AssertClose(y, yg, 0, 0, "maxpool over 20000 planes");
        AssertClose(i, ig, 0, 0, "maxpool indices over 20000 planes");
        using var dx = EmptyCpu([pool.N, pool.C, pool.H, pool.W], DType.Float32);
        using var dxg = EmptyGpu([pool.N, pool.C, pool.H, pool.W], DType.Float32);
        Cpu.AvgPool2dBackward(y, dx, pool);
        Gpu.AvgPool2dBackward(yg, dxg, pool);
        AssertClose(dx, dxg, 0, 0, "avgpool backward over 20000 planes");
    }

    /// <summary>A fixed-window geometry with PyTorch's output size (ceil mode: a last window that starts inside the padded input may hang over).</summary>
    private static Pool2dGeometry Pool(int n, int c, int h, int w, int kh, int kw, int s, int p, int d = 1, bool ceil = false)
    {
        int Out(int size, int k)
        {
            int span = size + 2 * p - d * (k - 1) - 1;
            int o = (ceil ? (span + s - 1) / s : span / s) + 1;
            if (ceil && (o - 1) * s >= size + p) o--;
            return o;
        }
        return new(n, c, h, w, Out(h, kh), Out(w, kw), kh, kw, s, s, p, p, d, d);
    }

    /// <summary>Pool windows: plain, padded, strided, dilated, ceil mode, and planes of 1, 33, ~256 and ~1024 elements.</summary>
    private static IEnumerable<Pool2dGeometry> PoolGeometries()
    {
        yield return Pool(1, 1, 1, 1, 1, 1, 1, 0);
        yield return Pool(2, 3, 4, 4, 2, 2, 2, 0);
        yield return Pool(2, 2, 7, 9, 3, 3, 2, 1);
        yield return Pool(1, 2, 8, 8, 3, 3, 2, 0, ceil: true);
        yield return Pool(1, 2, 8, 7, 3, 3, 2, 1, ceil: true);
        yield return Pool(1, 3, 9, 8, 3, 3, 1, 1, d: 2);
        yield return Pool(1, 1, 33, 31, 2, 3, 2, 1);
        yield return Pool(1, 1, 33, 33, 2, 2, 1, 0);
        yield return Pool(1, 2, 64, 33, 3, 3, 2, 1, ceil: true);
    }

    [Test]
    public void MaxPoolMatchesTheCpuExactlyWithIndicesAndNaN([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        foreach (var g in PoolGeometries())
        {
            string what = $"maxpool {dtype} N{g.N} C{g.C} {g.H}x{g.W} -> {g.OH}x{g.OW} k{g.KH}x{g.KW} s{g.SH} p{g.PH} d{g.DH}";
            var data = Values(Random([g.N, g.C, g.H, g.W], dtype, g.H + g.OW));
            for (int i = 5; i < data.Length; i += 7) data[i] = double.NaN; // NaN wins (the last one in a window)
            for (int i = 3; i < data.Length; i += 11) data[i] = 1.0;     // ties keep the first
            using var x = Tensor.FromArray(data, [g.N, g.C, g.H, g.W]).To(dtype);
            using var xg = x.To(Dev);
            int[] shape = [g.N, g.C, g.OH, g.OW];
            using var y = EmptyCpu(shape, dtype);
            using var yg = EmptyGpu(shape, dtype);
            using var i64 = EmptyCpu(shape, DType.Int64);
            using var ig = EmptyGpu(shape, DType.Int64);
            Cpu.MaxPool2d(x, y, i64, g);
            Gpu.MaxPool2d(xg, yg, ig, g);
            AssertClose(y, yg, 0, 0, what);
            AssertClose(i64, ig, 0, 0, what + " indices");
        }
    }

    [Test]
    public void AvgPoolForwardAndBackwardMatchTheCpuExactly([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        var cases = new List<(Pool2dGeometry G, string What)>();
        foreach (var p in PoolGeometries().Where(p => p.DH == 1))
        {
            cases.Add((p, "count_include_pad"));
            cases.Add((p with { CountIncludePad = false }, "exclude pad"));
        }
        cases.Add((Pool(2, 2, 5, 6, 2, 2, 1, 0) with { DivisorOverride = 3 }, "divisor 3"));
        foreach (var (h, w, oh, ow) in new[] { (5, 7, 3, 4), (4, 4, 1, 1), (2, 3, 5, 4), (33, 31, 7, 5), (1, 1, 1, 1), (32, 33, 32, 33) })
            cases.Add((new(2, 2, h, w, oh, ow, 0, 0, 1, 1, 0, 0, 1, 1, Adaptive: true), "adaptive"));
        foreach (var (g, kind) in cases)
        {
            string what = $"avgpool {kind} {dtype} N{g.N} C{g.C} {g.H}x{g.W} -> {g.OH}x{g.OW} k{g.KH}x{g.KW} s{g.SH} p{g.PH}";
            using var x = Random([g.N, g.C, g.H, g.W], dtype, g.W * 3 + g.OH);
            using var xg = x.To(Dev);
            int[] shape = [g.N, g.C, g.OH, g.OW];
            using var y = EmptyCpu(shape, dtype);
            using var yg = EmptyGpu(shape, dtype);
            Cpu.AvgPool2d(x, y, g);
            Gpu.AvgPool2d(xg, yg, g);
            AssertClose(y, yg, 0, 0, what);
            using var dy = Random(shape, dtype, g.OW * 5 + 1);
            using var dyg = dy.To(Dev);
            using var dx = EmptyCpu([g.N, g.C, g.H, g.W], dtype);
            using var dxg = EmptyGpu([g.N, g.C, g.H, g.W], dtype);
            Cpu.AvgPool2dBackward(dy, dx, g);
            Gpu.AvgPool2dBackward(dyg, dxg, g);
            AssertClose(dx, dxg, 0, 0, what + " backward");
        }
    }
}
