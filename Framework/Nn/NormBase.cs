namespace Framework.Nn;

/// <summary>
/// A running-statistics schedule from the PuzzleLib seed: the weight of the new batch statistic at
/// training call n is <c>f = max(InitFactor / n, MinFactor)</c>. The defaults (1, 0.1) give the exact
/// cumulative average for the first 10 batches and momentum 0.1 after. (PuzzleLib's documentation
/// writes the factor on the wrong term; this is what its code computes.)
/// </summary>
/// <param name="InitFactor">IF: the numerator of the warm-up factor.</param>
/// <param name="MinFactor">MF: the floor the factor settles at.</param>
public sealed record MomentumSchedule(double InitFactor = 1.0, double MinFactor = 0.1)
{
    /// <summary>The factor for the <paramref name="n"/>-th training batch (1-based).</summary>
    public double Factor(long n) => Math.Max(InitFactor / n, MinFactor);
}

/// <summary>
/// What BatchNorm2d and InstanceNorm2d share: affine parameters, running statistics with their batch
/// counter, momentum (or cumulative average, or a schedule), the <c>empty</c> and <c>inplace</c> options,
/// and input validation that runs before any state changes.
/// </summary>
public abstract class NormBase : Layer
{
    private readonly string _kind;
    private bool _filled;

    private protected NormBase(string kind, int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats,
        MomentumSchedule? schedule, double? weightInitStd, Generator? generator, string? name, bool empty, bool inplace, DType dtype, Device? device)
        : base(name)
    {
        _kind = kind;
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), $"{kind} expected numFeatures > 0, got {numFeatures}");
        CheckEps(kind, eps);
        CheckMomentum(kind, momentum);
        if (schedule is not null && !(schedule.InitFactor > 0 && schedule.MinFactor >= 0 && schedule.MinFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(schedule), $"{kind} expected InitFactor > 0 and MinFactor in [0, 1], got {schedule}");
        if (weightInitStd is { } std && !(std >= 0)) throw new ArgumentOutOfRangeException(nameof(weightInitStd), $"{kind} expected weightInitStd >= 0, got {std}");
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{kind} expected a floating-point dtype, got {dtype.Name()}");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        Schedule = schedule;
        Inplace = inplace;
        DType = dtype;
        var dev = device ?? Framework.Device.Cpu;
        // All of the module's vectors at once, before the first is allocated (and filled): a size that
        // cannot fit fails here with a message instead of half-way through, or in the OOM killer.
        int vectors = (affine ? 2 : 0) + (trackRunningStats ? 2 : 0);
        if (dev == Framework.Device.Cpu)
            Backends.Cpu.HostMemory.CheckAvailable((long)numFeatures * dtype.ElementSize() * vectors,
                $"{kind}({numFeatures}) with its {vectors} vectors of {numFeatures} {dtype.Name()} values");
        _filled = !empty;
        using var scope = new TensorScope();
        Tensor Make(double value) => empty ? Tensor.Empty([numFeatures], dtype, dev) : Tensor.Full([numFeatures], value, dtype, dev);
        if (affine)
        {
            Tensor weight;
            if (weightInitStd is { } s && !empty)
            {
                // PuzzleLib's N(1, sscale): sscale is a standard deviation.
                using var noise = Tensor.Randn([numFeatures], generator ?? new Generator(0), dtype, dev);
                weight = noise.Mul(s).Add(1.0);
            }
            else weight = Make(1);
            RegisterParameter("weight", weight);
            RegisterParameter("bias", Make(0));
        }
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Make(0));
            RegisterBuffer("running_var", Make(1));
            RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64, dev));
        }
    }

    /// <summary>Throws unless <paramref name="eps"/> is finite and positive (0 would divide by zero on a constant group; Inf or NaN wipe out every output).</summary>
    internal static void CheckEps(string kind, double eps)
    {
        if (!(eps > 0 && double.IsFinite(eps)))
            throw new ArgumentOutOfRangeException(nameof(eps), $"{kind} expected eps to be finite and > 0, got {eps}");
    }

    /// <summary>Throws unless <paramref name="momentum"/> is null or in [0, 1].</summary>
    internal static void CheckMomentum(string kind, double? momentum)
    {
        if (momentum is { } m && !(m >= 0 && m <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"{kind} expected momentum in [0, 1] or null, got {m}");
    }

    /// <summary>C, the number of channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Weight of the new statistic in the running update; null means the cumulative average 1/n.</summary>
    public double? Momentum { get; }

    /// <summary>Whether the module has a learnable per-channel weight (gamma) and bias (beta).</summary>
    public bool Affine { get; }

    /// <summary>Whether running mean and variance are kept (and used in eval mode).</summary>
    public bool TrackRunningStats { get; }

    /// <summary>The warm-up schedule of the running update, if any (it overrides <see cref="Momentum"/>).</summary>
    public MomentumSchedule? Schedule { get; }

    /// <summary>Eval mode writes the output over the input instead of allocating (refused in training).</summary>
    public bool Inplace { get; }

    /// <summary>The dtype of the parameters and buffers, which inputs must match.</summary>
    public DType DType { get; }

    /// <summary>gamma, shape [C]; null without affine.</summary>
    public Tensor? Weight => Affine ? GetParameter("weight") : null;

    /// <summary>beta, shape [C]; null without affine.</summary>
    public Tensor? Bias => Affine ? GetParameter("bias") : null;

    /// <summary>Running mean, shape [C]; null without tracking.</summary>
    public Tensor? RunningMean => TrackRunningStats ? GetBuffer("running_mean") : null;

    /// <summary>Running (unbiased) variance, shape [C]; null without tracking.</summary>
    public Tensor? RunningVar => TrackRunningStats ? GetBuffer("running_var") : null;

    /// <summary>Training batches seen (int64 scalar, saved in the state dict); null without tracking.</summary>
    public Tensor? NumBatchesTracked => TrackRunningStats ? GetBuffer("num_batches_tracked") : null;

    /// <summary>Normalizes <paramref name="input"/>.</summary>
    public abstract override Tensor Forward(Tensor input);

    /// <summary>The factor of the running update for the next training batch.</summary>
    internal double NextFactor()
    {
        long n = NumBatchesTracked!.Item<long>() + 1;
        if (Schedule is not null) return Schedule.Factor(n);
        return Momentum ?? 1.0 / n;
    }

    internal void CountBatch()
    {
        using var noGrad = Tensor.NoGrad();
        NumBatchesTracked!.AddInPlace(1.0);
    }

    /// <inheritdoc/>
    protected override void OnStateLoaded(string key) => _filled = true;

    /// <inheritdoc/>
    /// <remarks>
    /// A negative count would make the cumulative-average factor 1 / (n + 1) infinite or negative,
    /// and long.MaxValue would wrap at the next batch.
    /// </remarks>
    protected override string? CheckStateValue(string name, Tensor value)
    {
        if (name != "num_batches_tracked") return null;
        long n = value.Item<long>();
        return n >= 0 && n < long.MaxValue ? null : $"expected a count in [0, {long.MaxValue - 1}], got {n}";
    }

    /// <summary>Checks dtype, device, channels and the empty/inplace options; throws before anything changes.</summary>
    private protected void CheckCommon(Tensor input, int channelDim)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!_filled)
            throw new InvalidOperationException($"{_kind} was created with empty: true; load a state dict before calling Forward");
        if (input.DType != DType)
            throw new ArgumentException($"{_kind} expected input dtype {DType.Name()} (the module's), got {input.DType.Name()}");
        var device = (Weight ?? RunningMean)?.Device ?? input.Device;
        if (input.Device != device)
            throw new ArgumentException($"{_kind} expected input on {device} (the module's device), got {input.Device}");
        int c = input.Size(channelDim);
        if (c != NumFeatures)
            throw new ArgumentException($"{_kind} expected {NumFeatures} channels (numFeatures), got {c} channels in input {Shapes.Format(input.Shape)}");
        if (Inplace && Training)
            throw new InvalidOperationException($"{_kind}: inplace is allowed in eval mode only; call Eval() or create the module without inplace");
    }

    /// <summary>
    /// Eval-mode normalization written over the input (the <c>inplace</c> option): running statistics
    /// when tracked, otherwise the batch's (per channel) or the instance's (per plane) statistics.
    /// </summary>
    private protected Tensor ForwardInplace(Tensor input, bool instance)
    {
        if (Autograd.GradMode.IsEnabled && (input.RequiresGrad || Parameters().Any(p => p.RequiresGrad)))
            throw new InvalidOperationException($"{_kind}: inplace needs Tensor.NoGrad() (the input is overwritten, so nothing can be differentiated)");
        if (!input.IsContiguous)
            throw new ArgumentException($"{_kind}: inplace needs a contiguous input");
        if (input.Numel == 0) return input;
        var backend = input.Backend;
        if (TrackRunningStats) backend.BatchNormForwardEval(input, Weight, Bias, RunningMean!, RunningVar!, Eps, input);
        else
        {
            int stats = instance ? Shapes.ToSize((long)input.Size(0) * NumFeatures, _kind, "the number of statistics N * C") : NumFeatures;
            using var unscoped = TensorScope.Suppress();
            using var mean = Tensor.Empty([stats], DType, input.Device);
            using var rstd = Tensor.Empty([stats], DType, input.Device);
            if (instance) backend.GroupNormForward(input, NumFeatures, Weight, Bias, Eps, input, mean, rstd, null, null, 0);
            else backend.BatchNormForward(input, Weight, Bias, Eps, input, mean, rstd, null, null, 0);
        }
        input.BumpVersion();
        return input;
    }
}
