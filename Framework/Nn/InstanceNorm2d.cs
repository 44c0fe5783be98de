namespace Framework.Nn;

/// <summary>
/// Instance normalization over (N, C, H, W) or unbatched (C, H, W): each (n, c) plane is normalized
/// by its own mean and biased variance, <c>y = gamma[c] (x - mu) / sqrt(var + eps) + beta[c]</c>.
/// Instance statistics are used unless the module is in eval mode with <c>trackRunningStats</c>,
/// where the running ones are. With tracking, training updates
/// <c>running = (1 - f) running + f avg_n(stat)</c>, the variance of each instance unbiased (times HW/(HW-1)).
/// </summary>
/// <remarks>
/// Differences from PyTorch, all deliberate: <b>affine defaults to true</b> (as all three seed
/// libraries define it; PyTorch's default is false, so a PyTorch model saved with the default has no
/// weight/bias keys: pass <c>affine: false</c> to load it); <c>momentum: null</c> is supported
/// (cumulative average over the counted batches; PyTorch rejects it) and <c>num_batches_tracked</c> is
/// incremented (PyTorch keeps it at 0); checks run before any state changes; layer <c>name</c>,
/// <c>empty</c> and eval-only <c>inplace</c> as in BatchNorm2d; <c>eps</c> must be finite and positive
/// (PyTorch accepts 0, which divides by zero on a constant plane, and +Inf or NaN, which wipe out every output).
/// </remarks>
public sealed class InstanceNorm2d : NormBase
{
    /// <summary>Creates the module.</summary>
    /// <param name="numFeatures">C, the channels of the input.</param>
    /// <param name="eps">Added to the variance (default 1e-5).</param>
    /// <param name="momentum">Weight of the new statistic (default 0.1); null for the cumulative average.</param>
    /// <param name="affine">Learnable gamma (init 1) and beta (init 0); default <b>true</b> (PyTorch: false).</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in eval (default false, as PyTorch).</param>
    /// <param name="name">Layer name: state-dict prefix when this module is the root.</param>
    /// <param name="empty">Allocate without initialising; Forward refuses to run until a state dict is loaded.</param>
    /// <param name="inplace">In eval mode, write the output over the input (refused in training).</param>
    /// <param name="dtype">Dtype of parameters and buffers (float32 default).</param>
    /// <param name="device">Device of parameters and buffers (CPU default).</param>
    public InstanceNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = false,
        string? name = null, bool empty = false, bool inplace = false, DType dtype = DType.Float32, Device? device = null)
        : base("InstanceNorm2d", numFeatures, eps, momentum, affine, trackRunningStats, null, null, null, name, empty, inplace, dtype, device)
    {
    }

    /// <summary>Normalizes (N, C, H, W) or (C, H, W) input; an empty batch returns an empty tensor and changes nothing.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Dim is not (3 or 4))
            throw new ArgumentException($"InstanceNorm2d expected 3D (C, H, W) or 4D (N, C, H, W) input, got {input.Dim}D input {Shapes.Format(input.Shape)}");
        CheckCommon(input, input.Dim - 3);
        if (input.Dim == 3)
        {
            using var x4 = input.Unsqueeze(0);
            if (Inplace)
            {
                ForwardBatched(x4);
                return input;
            }
            using var y4 = ForwardBatched(x4);
            return y4.Squeeze(0);
        }
        return ForwardBatched(input);
    }

    private Tensor ForwardBatched(Tensor input)
    {
        if (input.Numel == 0) return F.EmptyOutput(input);
        bool useInputStats = Training || !TrackRunningStats;
        if (useInputStats && input.Numel / ((long)input.Size(0) * NumFeatures) <= 1)
            throw new ArgumentException(Training
                ? $"InstanceNorm2d expected more than 1 spatial element when training, got input size {Shapes.Format(input.Shape)}"
                : $"InstanceNorm2d expected more than 1 spatial element to compute instance statistics (eval mode without running statistics, trackRunningStats: false), got input size {Shapes.Format(input.Shape)}");
        if (Inplace) return ForwardInplace(input, instance: true);
        if (!useInputStats) return F.InstanceNorm(input, RunningMean, RunningVar, Weight, Bias, useInputStats: false, eps: Eps);
        bool update = Training && TrackRunningStats;
        double factor = update ? NextFactor() : 0;
        var y = F.InstanceNorm(input, update ? RunningMean : null, update ? RunningVar : null, Weight, Bias, useInputStats: true, factor, Eps);
        if (update) CountBatch();
        return y;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"InstanceNorm2d({NumFeatures}, eps={Eps}, momentum={(Momentum is { } m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={Affine}, track_running_stats={TrackRunningStats})";
}
