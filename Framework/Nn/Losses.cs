namespace Framework.Nn;

/// <summary>Cross-entropy from logits (PyTorch's <c>nn.CrossEntropyLoss</c>); see <see cref="F.CrossEntropy"/>.</summary>
public sealed class CrossEntropyLoss : Module
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    /// <param name="labelSmoothing">Weight e of the uniform distribution mixed into the targets, in [0, 1].</param>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropyLoss expected labelSmoothing in [0, 1], got {labelSmoothing}");
        Reduction = reduction;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <summary>The label smoothing.</summary>
    public double LabelSmoothing { get; }

    /// <summary>The loss of logits [N, C] against class indices (int64 [N]).</summary>
    public Tensor Forward(Tensor input, Tensor target) => F.CrossEntropy(input, target, Reduction, LabelSmoothing);
}

/// <summary>Negative log-likelihood of log-probabilities (PyTorch's <c>nn.NLLLoss</c>); see <see cref="F.NllLoss"/>.</summary>
public sealed class NllLoss : Module
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public NllLoss(Reduction reduction = Reduction.Mean) => Reduction = reduction;

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <summary>The loss of log-probabilities [N, C] against class indices (int64 [N]).</summary>
    public Tensor Forward(Tensor input, Tensor target) => F.NllLoss(input, target, Reduction);
}

/// <summary>Mean squared error (PyTorch's <c>nn.MSELoss</c>); see <see cref="F.MseLoss"/>.</summary>
public sealed class MseLoss : Module
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean (default), Sum or None.</param>
    public MseLoss(Reduction reduction = Reduction.Mean) => Reduction = reduction;

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <summary>The loss of input against a target of the same shape.</summary>
    public Tensor Forward(Tensor input, Tensor target) => F.MseLoss(input, target, Reduction);
}
