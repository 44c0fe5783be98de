using BenchmarkDotNet.Attributes;
using Framework;

namespace Benchmarks.Core;

/// <summary>Square float32 matmul through the Tensor API; GFLOP/s = 2 n^3 / time.</summary>
public class MatmulBenchmarks
{
    private Tensor _a = null!, _b = null!;

    [Params(256, 512, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(3);
        _a = Tensor.Randn([N, N], g);
        _b = Tensor.Randn([N, N], g);
    }

    [Benchmark]
    public void Matmul()
    {
        using var c = _a.Matmul(_b);
    }
}
