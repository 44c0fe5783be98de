using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Framework.Backends.Cpu;

namespace Benchmarks;

/// <summary>
/// The fused CPU norm kernels (float32, raw memory, no Tensor overhead) on the four shapes of
/// issue 3, against the bandwidth floor measured in the same run: <see cref="Triad"/> moves
/// 12 bytes per element (two reads, one write), so the floor of forward+backward (32 B/element:
/// forward reads x twice and writes y, backward reads x, dy twice and writes dx) is
/// Triad time * 32/12, of the training forward (12 B/element) Triad time, of eval (8 B) 2/3 of it.
/// Compare with PyTorch via ../shared/anchors/torch_norm_cpu.py run in the same session.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public unsafe class NormKernelBenchmarks
{
    private const double Eps = 1e-5;
    private float* _x, _y, _dy, _dx, _a, _b, _c;
    private float* _gamma, _beta, _rm, _rv, _mean, _rstd, _dgamma, _dbeta;
    private int _n, _ch;
    private long _s, _total;

    [Params("32x64x56x56", "8x32x128x128", "64x256x14x14", "16x3x256x256")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split('x').Select(int.Parse).ToArray();
        (_n, _ch, _s) = (d[0], d[1], (long)d[2] * d[3]);
        _total = _n * _ch * _s;
        var rng = new Random(1);
        float* Alloc(long count, Func<float> init)
        {
            var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
            for (long i = 0; i < count; i++) p[i] = init();
            return p;
        }
        float Randn() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        _x = Alloc(_total, Randn); _dy = Alloc(_total, Randn);
        _y = Alloc(_total, () => 0); _dx = Alloc(_total, () => 0);
        _a = Alloc(_total, () => 0); _b = Alloc(_total, Randn); _c = Alloc(_total, Randn);
        long g = (long)_n * _ch;
        _gamma = Alloc(_ch, () => 1); _beta = Alloc(_ch, () => 0); _rm = Alloc(_ch, () => 0); _rv = Alloc(_ch, () => 1);
        _mean = Alloc(g, () => 0); _rstd = Alloc(g, () => 0); _dgamma = Alloc(_ch, () => 0); _dbeta = Alloc(_ch, () => 0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        nint[] all = [(nint)_x, (nint)_y, (nint)_dy, (nint)_dx, (nint)_a, (nint)_b, (nint)_c, (nint)_gamma, (nint)_beta,
            (nint)_rm, (nint)_rv, (nint)_mean, (nint)_rstd, (nint)_dgamma, (nint)_dbeta];
        foreach (nint p in all)
            NativeMemory.AlignedFree((void*)p);
    }

    [Benchmark]
    public void BatchNormTrainForward() =>
        NormKernels.BatchNormForward(_x, _y, _n, _ch, _s, _gamma, _beta, Eps, _mean, _rstd, _rm, _rv, 0.1);

    [Benchmark]
    public void BatchNormEvalForward() => NormKernels.BatchNormEval(_x, _y, _n, _ch, _s, _rm, _rv, Eps, _gamma, _beta);

    [Benchmark]
    public void BatchNormForwardBackward()
    {
        NormKernels.BatchNormForward(_x, _y, _n, _ch, _s, _gamma, _beta, Eps, _mean, _rstd, _rm, _rv, 0.1);
        NormKernels.BatchNormBackward(_x, _dy, _n, _ch, _s, _mean, _rstd, _gamma, _dx, _dgamma, _dbeta);
    }

    [Benchmark]
    public void InstanceNormTrainForward() =>
        NormKernels.InstanceNormForward(_x, _y, _n, _ch, _s, _gamma, _beta, Eps, _mean, _rstd);

    /// <summary>InstanceNorm eval with tracked running statistics: the same per-channel map as BatchNorm eval.</summary>
    [Benchmark]
    public void InstanceNormEvalForward() => NormKernels.BatchNormEval(_x, _y, _n, _ch, _s, _rm, _rv, Eps, _gamma, _beta);

    [Benchmark]
    public void InstanceNormForwardBackward()
    {
        NormKernels.InstanceNormForward(_x, _y, _n, _ch, _s, _gamma, _beta, Eps, _mean, _rstd);
        NormKernels.InstanceNormBackward(_x, _dy, _n, _ch, _s, _mean, _rstd, _gamma, _dx, _dgamma, _dbeta);
    }

    /// <summary>a[i] = b[i] + s c[i] over the same element count, on all cores: 12 bytes per element.</summary>
    [Benchmark]
    public void Triad()
    {
        const long block = 64 * 1024;
        int items = (int)((_total + block - 1) / block);
        long total = _total;
        float* a = _a, b = _b, c = _c;
        Parallel.For(0, items, k =>
        {
            long at = k * block;
            int len = (int)Math.Min(block, total - at);
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(c + at, len), 3f, new ReadOnlySpan<float>(b + at, len),
                new Span<float>(a + at, len));
        });
    }
}
