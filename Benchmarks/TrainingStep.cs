using Framework;
using Framework.Nn;
using Framework.Optim;

namespace Benchmarks;

/// <summary>The training step the step benchmarks time, the same for every network (and as the PyTorch side does it).</summary>
internal static class TrainingStep
{
    /// <summary>Forward, cross-entropy, backward and optimizer step; everything the step creates is released.</summary>
    public static double Run(Layer model, Optimizer optimizer, Tensor x, Tensor y)
    {
        using var scope = new TensorScope();
        var loss = F.CrossEntropy(model.Forward(x), y);
        optimizer.ZeroGrad();
        loss.Backward();
        optimizer.Step();
        return loss.Item();
    }
}
