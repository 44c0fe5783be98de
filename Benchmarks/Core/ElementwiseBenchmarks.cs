using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using BenchmarkDotNet.Attributes;
using Framework;

namespace Benchmarks.Core;

/// <summary>
/// Elementwise add of 16M float32 (192 MiB moved per op: two reads and one write). The floor is
/// <c>TensorPrimitives.Add</c> over raw arrays in the same run; throughput = 12 bytes * N / time.
/// </summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    private const int N = 16 << 20;
    private float[] _x = null!, _y = null!, _z = null!;
    private Tensor _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _a = Tensor.Randn([N], g);
        _b = Tensor.Randn([N], g);
        _c = Tensor.Zeros([N]);
        _x = _a.ToArray<float>();
        _y = _b.ToArray<float>();
        _z = new float[N];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose(); _b.Dispose(); _c.Dispose();
    }

    /// <summary>The bandwidth floor: one vectorised single-threaded pass over raw arrays.</summary>
    [Benchmark(Baseline = true)]
    public void TensorPrimitivesAdd() => TensorPrimitives.Add(_x, _y, _z);

    /// <summary>The framework op into an existing output (as PyTorch's <c>torch.add(x, y, out=out)</c>).</summary>
    [Benchmark]
    public void FrameworkAddOut() => Tensor.Add(_a, _b, _c);

    /// <summary>The framework op allocating its result (pays for fresh pages every call).</summary>
    [Benchmark]
    public void FrameworkAdd()
    {
        using var c = _a + _b;
    }
}
