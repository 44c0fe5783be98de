using BenchmarkDotNet.Attributes;
using Framework;
using Framework.Nn;

namespace Benchmarks.Norm;

/// <summary>
/// BatchNorm2d and InstanceNorm2d through the public API (float32, affine, BatchNorm tracking
/// running statistics as in the PyTorch anchor): training forward, eval forward, and forward+backward.
/// The floor and the PyTorch figures come from <c>compare-norms</c> (see Benchmarks/README.md).
/// </summary>
[MinColumn, MedianColumn]
public class NormModuleBenchmarks
{
    private Tensor _x = null!, _dy = null!, _xg = null!;
    private NormBase _module = null!;

    [Params("BatchNorm2d", "InstanceNorm2d")]
    public string Module { get; set; } = "";

    [Params("32x64x56x56", "8x32x128x128", "64x256x14x14", "16x3x256x256")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var shape = Shape.Split('x').Select(int.Parse).ToArray();
        var g = new Generator(1);
        _x = Tensor.Randn(shape, g);
        _xg = _x.Detach().SetRequiresGrad();
        _dy = Tensor.Randn(shape, g);
        _module = Module == "BatchNorm2d" ? new BatchNorm2d(shape[1]) : new InstanceNorm2d(shape[1]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _module.Dispose();
        _x.Dispose(); _dy.Dispose();
    }

    [Benchmark]
    public void ForwardTrain()
    {
        _module.Train();
        using var noGrad = Tensor.NoGrad();
        using var y = _module.Forward(_x);
    }

    [Benchmark]
    public void ForwardEval()
    {
        _module.Eval();
        using var noGrad = Tensor.NoGrad();
        using var y = _module.Forward(_x);
    }

    [Benchmark]
    public void ForwardBackward()
    {
        _module.Train();
        using var scope = new TensorScope();
        var y = _module.Forward(_xg);
        y.Backward(_dy);
        _xg.Grad!.Dispose(); _xg.Grad = null;
        _module.ZeroGrad();
    }
}
