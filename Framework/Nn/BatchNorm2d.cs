namespace Framework.Nn;

/// <summary>
/// Batch normalization over (N, C, H, W): each channel is normalized with statistics over
/// (N, H, W), <c>y = gamma[c] (x - mu) / sqrt(var + eps) + beta[c]</c> with the biased variance.
/// Training uses batch statistics and updates the running ones:
/// <c>running = (1 - f) running + f stat</c>, variance unbiased (times M/(M-1), M = N*H*W), with
/// f = momentum (default 0.1), 1/n for <c>momentum: null</c> (cumulative average), or a
/// <see cref="MomentumSchedule"/>. Eval uses the running statistics when tracked, batch statistics otherwise.
/// </summary>
/// <remarks>
/// Differences from PyTorch, all deliberate: statistics use a stable one-pass Welford/Chan merge in
/// double (PyTorch is also stable; E[x^2]-E[x]^2 is never used); every check runs before any state
/// changes (PyTorch increments <c>num_batches_tracked</c> and then throws for a one-value batch);
/// the optional warm-up schedule, layer <c>name</c>, <c>empty</c> and eval-only <c>inplace</c> come
/// from the PuzzleLib seed, and the batch count is saved in the state dict so a reloaded schedule resumes;
/// <c>eps</c> must be finite and positive (PyTorch accepts 0, which divides by zero on a constant
/// channel, and +Inf or NaN, which wipe out every output), in the module and in <see cref="F.BatchNorm"/> alike;
/// a module too large for the available host memory fails at construction with
/// <see cref="OutOfMemoryException"/> naming the sizes, before anything is allocated.
/// </remarks>
public sealed class BatchNorm2d : NormBase
{
    /// <summary>Creates the module.</summary>
    /// <param name="numFeatures">C, the channels of the input.</param>
    /// <param name="eps">Added to the variance (default 1e-5).</param>
    /// <param name="momentum">Weight of the new statistic (default 0.1); null for the cumulative average.</param>
    /// <param name="affine">Learnable gamma (init 1) and beta (init 0); default true.</param>
    /// <param name="trackRunningStats">Keep running statistics for eval (default true).</param>
    /// <param name="schedule">Optional warm-up schedule of the running update (overrides momentum).</param>
    /// <param name="weightInitStd">Initialise gamma as N(1, std) (PuzzleLib's sscale, e.g. 0.01) instead of 1.</param>
    /// <param name="generator">Generator for <paramref name="weightInitStd"/> (default seed 0).</param>
    /// <param name="name">Layer name: state-dict prefix when this module is the root.</param>
    /// <param name="empty">Allocate without initialising; Forward refuses to run until a state dict is loaded.</param>
    /// <param name="inplace">In eval mode, write the output over the input (refused in training).</param>
    /// <param name="dtype">Dtype of parameters and buffers (float32 default; float64 for gradient checks).</param>
    /// <param name="device">Device of parameters and buffers (CPU default).</param>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
        MomentumSchedule? schedule = null, double? weightInitStd = null, Generator? generator = null, string? name = null,
        bool empty = false, bool inplace = false, DType dtype = DType.Float32, Device? device = null)
        : base("BatchNorm2d", numFeatures, eps, momentum, affine, trackRunningStats, schedule, weightInitStd, generator, name, empty, inplace, dtype, device)
    {
    }

    /// <summary>Normalizes a (N, C, H, W) input; an empty batch (N = 0) returns an empty tensor and changes nothing.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Dim != 4)
            throw new ArgumentException($"BatchNorm2d expected 4D input (N, C, H, W), got {input.Dim}D input {Shapes.Format(input.Shape)}");
        CheckCommon(input, 1);
        if (Training && SynchronizedForward is { } sync) return sync(this, input);
        if (input.Numel == 0) return F.EmptyOutput(input);
        bool useBatchStats = Training || !TrackRunningStats;
        if (useBatchStats && input.Numel / NumFeatures <= 1)
            throw new ArgumentException(Training
                ? $"BatchNorm2d expected more than 1 value per channel when training, got input size {Shapes.Format(input.Shape)}"
                : $"BatchNorm2d expected more than 1 value per channel to compute batch statistics (eval mode without running statistics, trackRunningStats: false), got input size {Shapes.Format(input.Shape)}");
        if (Inplace) return ForwardInplace(input, instance: false);
        if (!useBatchStats) return F.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, training: false, eps: Eps);
        bool update = Training && TrackRunningStats;
        double factor = update ? NextFactor() : 0;
        var y = F.BatchNorm(input, update ? RunningMean : null, update ? RunningVar : null, Weight, Bias, training: true, factor, Eps);
        if (update) CountBatch();
        return y;
    }

    /// <summary>
    /// Set by Framework.Distributed's <c>SyncBatchNorm.Convert</c>: the training forward with batch statistics
    /// merged across processes. A hook on this very module (instead of a new module in its place) keeps
    /// every field that refers to it, its state dict and its parameters' identity (optimizers hold them).
    /// </summary>
    internal Func<BatchNorm2d, Tensor, Tensor>? SynchronizedForward { get; set; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"BatchNorm2d({NumFeatures}, eps={Eps}, momentum={(Momentum is { } m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={Affine}, track_running_stats={TrackRunningStats})";
}
