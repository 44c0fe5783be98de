using BenchmarkDotNet.Attributes;
using Framework;
using Framework.Nn;
using Framework.Optim;

namespace Benchmarks.Optim;

/// <summary>
/// One training step (forward, cross-entropy, backward, Adam) of the Digits sample's network at batch 32,
/// on its 8x8 digits and on 28x28 (Fashion-MNIST sized) inputs. The network is built exactly as
/// <c>Samples/Digits/DigitsNet.cs</c> builds it. PyTorch's side: <c>Benchmarks/compare_digits_step.py</c>;
/// <c>Benchmarks/compare_digits_step.sh</c> runs both.
/// </summary>
[MinColumn, MedianColumn]
public class DigitsStepBenchmarks
{
    private Sequential _model = null!;
    private Adam _opt = null!;
    private Tensor _x = null!, _y = null!;

    /// <summary>Input height and width.</summary>
    [Params(8, 28)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _model = new Sequential(
            new Conv2d(1, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new ReLU(),
            new Conv2d(16, 32, 3, padding: 1, generator: g), new InstanceNorm2d(32, affine: true), new ReLU(),
            new MaxPool2d(2), new Flatten(), new Linear(32 * (Size / 2) * (Size / 2), 10, generator: g));
        _opt = new Adam(_model.Parameters(), 0.01);
        _x = Tensor.Rand([32, 1, Size, Size], g);
        _y = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (long)(i % 10)).ToArray());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _opt.Dispose(); _model.Dispose(); _x.Dispose(); _y.Dispose();
    }

    /// <summary>Forward, loss, backward and optimizer step, with everything the step creates released.</summary>
    [Benchmark]
    public double TrainStep()
        => TrainingStep.Run(_model, _opt, _x, _y);
}
