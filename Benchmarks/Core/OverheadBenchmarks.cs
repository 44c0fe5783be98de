using BenchmarkDotNet.Attributes;
using Framework;

namespace Benchmarks.Core;

/// <summary>
/// Per-op overhead: adds of two 16-element tensors that require grad, so every op allocates its
/// result and records a node. PyTorch 1.13 eager: 1.1-1.3 us per op on this kind of machine.
/// Also the backward of a 100-op chain, reported per op.
/// </summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    private const int Ops = 1000;
    private Tensor _a = null!, _b = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(2);
        _a = Tensor.Randn([16], g).SetRequiresGrad();
        _b = Tensor.Randn([16], g).SetRequiresGrad();
    }

    /// <summary>One tiny recorded add per operation (the result is released at once, like Python's rebinding).</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public void TinyAddRequiresGrad()
    {
        for (int i = 0; i < Ops; i++)
        {
            var c = _a + _b;
            c.Dispose();
        }
    }

    /// <summary>The same under NoGrad: allocation and dispatch only.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public void TinyAddNoGrad()
    {
        using var noGrad = Tensor.NoGrad();
        for (int i = 0; i < Ops; i++)
        {
            var c = _a + _b;
            c.Dispose();
        }
    }

    /// <summary>Forward and backward of a chain of 100 tanh ops on 16 elements; time per op (both directions).</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public void Chain100ForwardBackward()
    {
        using var scope = new TensorScope();
        var y = _a;
        for (int i = 0; i < 100; i++) y = y.Tanh();
        y.Sum().Backward();
        _a.Grad!.Dispose();
        _a.Grad = null;
    }
}
