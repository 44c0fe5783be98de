using BenchmarkDotNet.Attributes;
using Framework;
using Framework.Nn;
using Framework.Optim;

namespace Benchmarks.Layers;

/// <summary>
/// One SGD training step of a ResNet-style network at batch 32 on 3x32x32 inputs: a stem
/// conv(3->16)-BN-ReLU, one basic block (conv-BN-ReLU-conv-BN plus the identity, then ReLU), global
/// average pooling and a linear head. PyTorch's side is <c>Benchmarks/compare_resnet_block.py</c>;
/// <c>Benchmarks/compare_resnet_block.sh</c> runs both in one go.
/// </summary>
[MinColumn, MedianColumn]
public class ResNetBlockBenchmarks
{
    /// <summary>conv-BN-ReLU-conv-BN with the identity added before the last ReLU.</summary>
    private sealed class BasicBlock : Layer
    {
        private readonly Conv2d _conv1, _conv2;
        private readonly BatchNorm2d _bn1, _bn2;

        public BasicBlock(int channels, Generator g)
        {
            _conv1 = RegisterModule(new Conv2d(channels, channels, 3, padding: 1, bias: false, generator: g), "conv1");
            _bn1 = RegisterModule(new BatchNorm2d(channels), "bn1");
            _conv2 = RegisterModule(new Conv2d(channels, channels, 3, padding: 1, bias: false, generator: g), "conv2");
            _bn2 = RegisterModule(new BatchNorm2d(channels), "bn2");
        }

        public override Tensor Forward(Tensor input)
        {
            var h = _bn1.Forward(_conv1.Forward(input)).Relu();
            var o = _bn2.Forward(_conv2.Forward(h));
            return (o + input).Relu();
        }
    }

    private Sequential _model = null!;
    private SGD _opt = null!;
    private Tensor _x = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _model = new Sequential(
            new Conv2d(3, 16, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(16), new ReLU(),
            new BasicBlock(16, g),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 10, generator: g));
        _opt = new SGD(_model.Parameters(), lr: 0.1, momentum: 0.9);
        _x = Tensor.Randn([32, 3, 32, 32], g);
        _y = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (long)(i % 10)).ToArray());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _opt.Dispose(); _model.Dispose(); _x.Dispose(); _y.Dispose();
    }

    /// <summary>Forward, cross-entropy, backward and SGD step; everything the step creates is released.</summary>
    [Benchmark]
    public double TrainStep()
        => TrainingStep.Run(_model, _opt, _x, _y);
}
