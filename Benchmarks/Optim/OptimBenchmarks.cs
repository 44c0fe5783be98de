using BenchmarkDotNet.Attributes;
using Framework;
using Framework.Optim;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Benchmarks.Optim;

/// <summary>
/// One optimizer step over 4M float32 parameters (16 MiB per tensor). Bytes moved per step: SGD with
/// momentum reads param, grad, buffer and writes param, buffer (5 x 16 MiB); Adam reads 4 and writes 3
/// (7 x 16 MiB). The floor is a single-threaded triad (<c>TensorPrimitives.MultiplyAdd</c>, 3 x 16 MiB)
/// in the same run; PyTorch's numbers come from <c>Benchmarks/compare_optim.py</c>.
/// </summary>
public class OptimBenchmarks
{
    private const int N = 4 << 20;
    private Tensor _p = null!;
    private SGD _sgd = null!;
    private Adam _adam = null!;
    private AdamW _adamw = null!;
    private float[] _x = null!, _y = null!, _z = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _p = Tensor.Randn([N], g).SetRequiresGrad();
        _p.Grad = Tensor.Randn([N], g);
        _sgd = new SGD([_p], 1e-6, momentum: 0.9);
        _adam = new Adam([_p], 1e-6);
        _adamw = new AdamW([_p], 1e-6, amsgrad: true);
        _x = new float[N]; _y = new float[N]; _z = new float[N];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sgd.Dispose(); _adam.Dispose(); _adamw.Dispose();
        _p.Grad?.Dispose();
        _p.Dispose();
    }

    /// <summary>The bandwidth floor: one vectorised single-threaded triad over raw arrays.</summary>
    [Benchmark(Baseline = true)]
    public void Triad() => TensorPrimitives.MultiplyAdd(_x, _y, 1.5f, _z);

    /// <summary>SGD with momentum: one fused pass.</summary>
    [Benchmark]
    public void SgdMomentum() => _sgd.Step();

    /// <summary>Adam: one fused pass.</summary>
    [Benchmark]
    public void Adam() => _adam.Step();

    /// <summary>AdamW with AMSGrad: one fused pass over five tensors.</summary>
    [Benchmark]
    public void AdamWAmsgrad() => _adamw.Step();
}
