namespace Framework.Nn;

/// <summary>How a loss combines its per-element values (PyTorch's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean over the batch (the default).</summary>
    Mean,
    /// <summary>The sum over the batch.</summary>
    Sum,
    /// <summary>No reduction: one loss per sample (per element for MSE).</summary>
    None,
}

public static partial class F
{
    /// <summary>
    /// Cross-entropy of logits [N, C] against class indices (int64 [N]), from a log-softmax (log-sum-exp
    /// with the maximum subtracted, so large logits never overflow). With label smoothing e the target
    /// distribution is (1 - e) one-hot + e / C uniform: loss_i = (1 - e) nll_i - (e / C) sum_c log p_ic.
    /// Every target must lie in [0, C); PyTorch's ignore_index and class weights are not supported.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        int c = CheckClassTargets("CrossEntropy", input, target);
        CheckReduction(reduction);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentException($"CrossEntropy expected labelSmoothing in [0, 1], got {labelSmoothing}");
        using var logp = input.LogSoftmax(1);
        return NllCore(logp, target, c, reduction, labelSmoothing);
    }

    /// <summary>
    /// Negative log-likelihood of log-probabilities [N, C] (e.g. from <see cref="Tensor.LogSoftmax"/>)
    /// against class indices (int64 [N], each in [0, C)): loss_i = -input[i, target_i].
    /// </summary>
    public static Tensor NllLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        int c = CheckClassTargets("NllLoss", input, target);
        CheckReduction(reduction);
        return NllCore(input, target, c, reduction, 0);
    }

    /// <summary>Mean squared error: (input - target)^2 elementwise, reduced. Both must have the same shape (no broadcasting).</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.CheckFloatingPoint("MseLoss");
        input.CheckSameKind(target, "MseLoss");
        if (!input._shape.AsSpan().SequenceEqual(target._shape))
            throw new ArgumentException($"MseLoss expected input and target of the same shape, got input {Shapes.Format(input._shape)} and target {Shapes.Format(target._shape)}");
        CheckReduction(reduction);
        using var diff = input.Sub(target);
        return Reduce(diff.Mul(diff), reduction);
    }

    /// <summary>Reduces a per-element loss, taking ownership of it (returned as is for <see cref="Reduction.None"/>).</summary>
    private static Tensor Reduce(Tensor loss, Reduction reduction)
    {
        if (reduction == Reduction.None) return loss;
        using (loss) return reduction == Reduction.Mean ? loss.Mean() : loss.Sum();
    }

    private static void CheckReduction(Reduction reduction)
    {
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "expected Mean, Sum or None");
    }

    private static Tensor NllCore(Tensor logp, Tensor target, int c, Reduction reduction, double smoothing)
    {
        using var idx = target.Unsqueeze(1);
        using var picked = logp.Gather(1, idx);
        using var flat = picked.Reshape(-1);
        if (smoothing == 0) return Reduce(flat.Neg(), reduction);
        using var total = logp.Sum(1);
        using var smooth = total.Mul(-smoothing / c);
        using var hard = flat.Mul(-(1 - smoothing));
        return Reduce(hard.Add(smooth), reduction);
    }

    /// <summary>Checks [N, C] floating input and int64 [N] targets in [0, C); returns C.</summary>
    private static int CheckClassTargets(string op, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.CheckFloatingPoint(op);
        if (input.Dim != 2)
            throw new ArgumentException($"{op} expected 2D input (N, C), got {input.Dim}D input {Shapes.Format(input._shape)}");
        if (target.DType != DType.Int64)
            throw new ArgumentException($"{op} expected int64 class-index targets, got {target.DType.Name()}");
        if (target.Device != input.Device)
            throw new ArgumentException($"{op} expected targets on {input.Device}, got {target.Device}");
        int n = input._shape[0], c = input._shape[1];
        if (target.Dim != 1 || target._shape[0] != n)
            throw new ArgumentException($"{op} expected targets of shape [{n}] (the input's batch), got {Shapes.Format(target._shape)}");
        var values = target.ToArray<long>();
        for (int i = 0; i < values.Length; i++)
            if (values[i] < 0 || values[i] >= c)
                throw new ArgumentOutOfRangeException(nameof(target),
                    $"{op}: target {values[i]} at position {i} is out of range for {c} classes (expected 0 <= target < {c})");
        return c;
    }
}
