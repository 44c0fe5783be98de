using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Framework;
using Framework.Nn;

namespace Benchmarks.Layers;

/// <summary>
/// Conv2d 64->64, 3x3, padding 1 on (32, 64, 56, 56) float32, the reference layer. Measured
/// against compute: one forward is 2 N Cout Cin 9 H W = 7.4 GFLOP; forward + backward (dx and dW,
/// each a GEMM of the forward's size) is three times that. The GFLOP/s column divides those counts by
/// the mean time. PyTorch's figure for the forward comes from ../shared/anchors/torch_ops_cpu.py.
/// </summary>
[Config(typeof(GflopsConfig))]
public class ConvBenchmarks
{
    internal const int N = 32, C = 64, H = 56, W = 56;
    internal const double ForwardFlop = 2.0 * N * C * C * 9 * H * W;

    private Conv2d _conv = null!;
    private Tensor _x = null!, _xGrad = null!, _dy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _conv = new Conv2d(C, C, 3, padding: 1, generator: g);
        _x = Tensor.Randn([N, C, H, W], g);
        _xGrad = Tensor.Randn([N, C, H, W], g).SetRequiresGrad();
        _dy = Tensor.Ones([N, C, H, W]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _conv.Dispose();
        _x.Dispose();
        _xGrad.Dispose();
        _dy.Dispose();
    }

    /// <summary>Inference: no graph recorded.</summary>
    [Benchmark]
    public void Forward()
    {
        using var noGrad = Tensor.NoGrad();
        using var y = _conv.Forward(_x);
    }

    /// <summary>A training step's share: forward, then backward to the input, weight and bias.</summary>
    [Benchmark]
    public void ForwardBackward()
    {
        using (var y = _conv.Forward(_xGrad)) y.Backward(_dy);
        _conv.ZeroGrad();
        _xGrad.Grad?.Dispose();
        _xGrad.Grad = null;
    }

    /// <summary>GFLOP/s from the mean time: 1x the forward count for Forward, 3x for ForwardBackward.</summary>
    private sealed class GflopsConfig : ManualConfig
    {
        public GflopsConfig() => AddColumn(new GflopsColumn("2 N Cout Cin 9 H W per forward (x3 with backward) / mean time",
            benchmarkCase => benchmarkCase.Descriptor.WorkloadMethod.Name == nameof(ForwardBackward) ? 3 * ForwardFlop : ForwardFlop));
    }
}
