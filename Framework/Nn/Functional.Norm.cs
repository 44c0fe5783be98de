using Framework.Autograd;

namespace Framework.Nn;

/// <summary>
/// Functional forms of the layers (PyTorch's <c>torch.nn.functional</c>). The norm functions share the
/// fused backend kernels with the modules; they validate everything before touching running statistics.
/// </summary>
public static partial class F
{
    /// <summary>
    /// Batch normalization over dim 1 of an (N, C, *) input. With <paramref name="training"/>, batch
    /// statistics are used and, when running buffers are given, they are updated in the same pass:
    /// r = (1 - momentum) r + momentum * stat (variance unbiased). Without it, the running statistics
    /// normalize and nothing is updated.
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        int c = CheckNormInput(input, "BatchNorm", minRank: 2);
        NormBase.CheckEps("BatchNorm", eps);
        NormBase.CheckMomentum("BatchNorm", momentum);
        CheckVector(input, weight, c, "BatchNorm", "weight");
        CheckVector(input, bias, c, "BatchNorm", "bias");
        CheckVector(input, runningMean, c, "BatchNorm", "running_mean");
        CheckVector(input, runningVar, c, "BatchNorm", "running_var");
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException("BatchNorm expected both running_mean and running_var, or neither");
        if (!training && runningMean is null)
            throw new ArgumentException("BatchNorm: running_mean and running_var must be given when training is false");
        long perChannel = c == 0 ? 0 : input.Numel / c;
        if (training && input.Numel > 0 && perChannel <= 1)
            throw new ArgumentException($"BatchNorm expected more than 1 value per channel when training, got input size {Shapes.Format(input._shape)}");
        if (input.Numel == 0) return EmptyOutput(input);

        using var x = input.ContiguousOwned();
        var y = input.EmptyLike(input._shape);
        var backend = input.Backend;
        if (training)
        {
            using var unscoped = TensorScope.Suppress();
            var mean = Tensor.Empty([c], input.DType, input.Device);
            var rstd = Tensor.Empty([c], input.DType, input.Device);
            // The statistics belong to no scope (the node will own them), so a failing kernel must not leak them.
            try { backend.BatchNormForward(x, weight, bias, eps, y, mean, rstd, runningMean, runningVar, momentum); }
            catch { mean.Dispose(); rstd.Dispose(); throw; }
            runningMean?.BumpVersion();
            runningVar?.BumpVersion();
            if (!RecordNorm(new BatchNormNode(mean, rstd), y, x, input, weight, bias))
            {
                mean.Dispose();
                rstd.Dispose();
            }
        }
        else
        {
            backend.BatchNormForwardEval(x, weight, bias, runningMean!, runningVar!, eps, y);
            var node = new BatchNormEvalNode(eps);
            if (Engine.NeedsGrad(input) || (weight is not null && Engine.NeedsGrad(weight)) || (bias is not null && Engine.NeedsGrad(bias)))
            {
                node.RunningMean = node.Save(runningMean!);
                node.RunningVar = node.Save(runningVar!);
            }
            RecordNorm(node, y, x, input, weight, bias);
        }
        return y;
    }

    /// <summary>
    /// Instance normalization of an (N, C, *) input: each (n, c) plane is normalized by its own
    /// statistics when <paramref name="useInputStats"/> (running buffers, when given, are updated with
    /// the batch average of the per-instance mean and unbiased variance), otherwise by the running ones.
    /// </summary>
    public static Tensor InstanceNorm(Tensor input, Tensor? runningMean = null, Tensor? runningVar = null, Tensor? weight = null, Tensor? bias = null,
        bool useInputStats = true, double momentum = 0.1, double eps = 1e-5)
    {
        int c = CheckNormInput(input, "InstanceNorm", minRank: 3);
        NormBase.CheckEps("InstanceNorm", eps);
        NormBase.CheckMomentum("InstanceNorm", momentum);
        if (!useInputStats) return BatchNorm(input, runningMean, runningVar, weight, bias, training: false, momentum, eps);
        CheckVector(input, weight, c, "InstanceNorm", "weight");
        CheckVector(input, bias, c, "InstanceNorm", "bias");
        CheckVector(input, runningMean, c, "InstanceNorm", "running_mean");
        CheckVector(input, runningVar, c, "InstanceNorm", "running_var");
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException("InstanceNorm expected both running_mean and running_var, or neither");
        long spatial = input.Numel == 0 ? 0 : input.Numel / ((long)input._shape[0] * c);
        if (input.Numel > 0 && spatial <= 1)
            throw new ArgumentException($"InstanceNorm expected more than 1 spatial element, got input size {Shapes.Format(input._shape)}");
        return GroupNormCore(input, c, weight, bias, eps, runningMean, runningVar, momentum, "InstanceNorm");
    }

    /// <summary>Group normalization: the C channels of each sample split into <paramref name="numGroups"/> groups normalized together; affine per channel.</summary>
    public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        int c = CheckNormInput(input, "GroupNorm", minRank: 2);
        NormBase.CheckEps("GroupNorm", eps);
        if (numGroups <= 0 || c % numGroups != 0)
            throw new ArgumentException($"GroupNorm expected the number of channels ({c}) to be divisible by num_groups ({numGroups})");
        CheckVector(input, weight, c, "GroupNorm", "weight");
        CheckVector(input, bias, c, "GroupNorm", "bias");
        return GroupNormCore(input, numGroups, weight, bias, eps, null, null, 0, "GroupNorm");
    }

    private static Tensor GroupNormCore(Tensor input, int groups, Tensor? weight, Tensor? bias, double eps,
        Tensor? runningMean, Tensor? runningVar, double momentum, string name)
    {
        // The backends count (sample, group) pairs in an int; checked before anything is allocated.
        int stats = Shapes.ToSize((long)input._shape[0] * groups, name, $"the number of statistics N * groups ({input._shape[0]} * {groups})");
        if (input.Numel == 0) return EmptyOutput(input);
        using var x = input.ContiguousOwned();
        var y = input.EmptyLike(input._shape);
        using var unscoped = TensorScope.Suppress();
        var mean = Tensor.Empty([stats], input.DType, input.Device);
        var rstd = Tensor.Empty([stats], input.DType, input.Device);
        try { input.Backend.GroupNormForward(x, groups, weight, bias, eps, y, mean, rstd, runningMean, runningVar, momentum); }
        catch { mean.Dispose(); rstd.Dispose(); throw; }
        runningMean?.BumpVersion();
        runningVar?.BumpVersion();
        if (!RecordNorm(new GroupNormNode(groups, mean, rstd, name), y, x, input, weight, bias))
        {
            mean.Dispose();
            rstd.Dispose();
        }
        return y;
    }

    /// <summary>Layer normalization over the trailing dims given by <paramref name="normalizedShape"/>, with per-element affine.</summary>
    public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        ArgumentNullException.ThrowIfNull(input);
        input.CheckFloatingPoint("LayerNorm");
        NormBase.CheckEps("LayerNorm", eps);
        int k = normalizedShape.Length;
        if (k == 0 || input.Dim < k || !input._shape.AsSpan(input.Dim - k).SequenceEqual(normalizedShape))
            throw new ArgumentException(
                $"LayerNorm: given normalized_shape={Shapes.Format(normalizedShape)}, expected input with shape [*, {string.Join(", ", normalizedShape)}], but got input of size {Shapes.Format(input._shape)}");
        int size = Shapes.ToSize(Shapes.Numel(normalizedShape, "LayerNorm"), "LayerNorm", $"the size of normalized_shape {Shapes.Format(normalizedShape)}");
        foreach (var (t, what) in new[] { (weight, "weight"), (bias, "bias") })
        {
            if (t is null) continue;
            input.CheckSameKind(t, "LayerNorm " + what);
            if (!t._shape.AsSpan().SequenceEqual(normalizedShape))
                throw new ArgumentException($"LayerNorm expected {what} of shape {Shapes.Format(normalizedShape)}, got {Shapes.Format(t._shape)}");
        }
        if (input.Numel == 0) return EmptyOutput(input);
        using var x = input.ContiguousOwned();
        var y = input.EmptyLike(input._shape);
        long rows = input.Numel / size;
        using var unscoped = TensorScope.Suppress();
        int statRows = Shapes.ToSize(rows, "LayerNorm", "the number of normalized rows");
        var mean = Tensor.Empty([statRows], input.DType, input.Device);
        var rstd = Tensor.Empty([statRows], input.DType, input.Device);
        try
        {
            using var w = weight?.ContiguousOwned();
            using var b = bias?.ContiguousOwned();
            input.Backend.LayerNormForward(x, size, w, b, eps, y, mean, rstd);
        }
        catch { mean.Dispose(); rstd.Dispose(); throw; }
        if (!RecordNorm(new LayerNormNode(size, mean, rstd), y, x, input, weight, bias))
        {
            mean.Dispose();
            rstd.Dispose();
        }
        return y;
    }

    private static int CheckNormInput(Tensor input, string name, int minRank)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.CheckFloatingPoint(name);
        if (input.Dim < minRank)
            throw new ArgumentException($"{name} expected an input with at least {minRank} dims (N, C, ...), got {input.Dim}D input {Shapes.Format(input._shape)}");
        return input._shape[1];
    }

    private static void CheckVector(Tensor input, Tensor? t, int c, string name, string what)
    {
        if (t is null) return;
        if (t.DType != input.DType)
            throw new ArgumentException($"{name}: {what} has dtype {t.DType.Name()}, but the input is {input.DType.Name()}");
        if (t.Device != input.Device)
            throw new ArgumentException($"{name}: {what} is on {t.Device}, but the input is on {input.Device}");
        if (t.Dim != 1 || t._shape[0] != c || !t.IsContiguous)
            throw new ArgumentException($"{name} expected {what} to be a contiguous vector of {c} elements (the input's channels), got shape {Shapes.Format(t._shape)}");
    }

    /// <summary>Links a norm node to [input, weight?, bias?]; saves x and weight. Returns false when nothing was recorded.</summary>
    private static bool RecordNorm(NormNode node, Tensor y, Tensor x, Tensor input, Tensor? weight, Tensor? bias)
    {
        var inputs = new List<Tensor> { input };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        if (!Engine.NeedsGrad(inputs)) return false;
        node.X = node.Save(x);
        if (weight is not null) node.Weight = node.Save(weight);
        node.HasBias = bias is not null;
        Engine.Record(node, y, inputs);
        return true;
    }

    /// <summary>
    /// The output for an empty input: empty, but recorded from the input as PyTorch does, so that a
    /// backward through it reaches the input (with an empty gradient) instead of failing on a tensor
    /// that has no grad function. Found by the property tests (Framework.Tests/Properties).
    /// </summary>
    internal static Tensor EmptyOutput(Tensor input) => input.Mul(0.0);
}
