namespace Framework.Optim;

/// <summary>
/// Base of the learning-rate schedules, with PyTorch's protocol: construction records each group's
/// <c>initial_lr</c> and takes the first step (so <see cref="LastEpoch"/> is 0 and the lr is the
/// schedule's value at epoch 0); call <see cref="Step"/> once per epoch after the optimizer's steps.
/// The lr is updated in the groups in place (PyTorch's chainable form), so schedules see lr changes
/// made by others.
/// </summary>
public abstract class LRScheduler
{
    private double[] _lastLr = [];

    /// <summary>Attaches the schedule to <paramref name="optimizer"/>; <paramref name="lastEpoch"/> -1 starts fresh, k resumes after epoch k.</summary>
    protected LRScheduler(Optimizer optimizer, int lastEpoch = -1)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (lastEpoch < -1) throw new ArgumentOutOfRangeException(nameof(lastEpoch), $"expected -1 (fresh) or a finished epoch >= 0, got {lastEpoch}");
        Optimizer = optimizer;
        foreach (var (g, i) in optimizer.ParamGroups.Select((g, i) => (g, i)))
        {
            if (lastEpoch == -1) { if (!g.Has("initial_lr")) g["initial_lr"] = g.Lr; }
            else if (!g.Has("initial_lr"))
                throw new ArgumentException($"resuming a schedule at lastEpoch {lastEpoch} needs \"initial_lr\" in parameter group {i}: load the optimizer's state dict first");
        }
        BaseLrs = optimizer.ParamGroups.Select(g => g["initial_lr"]).ToArray();
        LastEpoch = lastEpoch;
    }

    /// <summary>Finishes construction by taking the first step; subclasses call it at the end of their constructor.</summary>
    protected void Initialize() => Step();

    /// <summary>The optimizer whose groups' lr this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Each group's <c>initial_lr</c>.</summary>
    public IReadOnlyList<double> BaseLrs { get; private set; }

    /// <summary>The epoch the current lr belongs to (0 after construction).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>How many times <see cref="Step"/> ran, construction included (PyTorch's <c>_step_count</c>).</summary>
    protected int StepCount { get; private set; }

    /// <summary>Advances one epoch and writes the new lr into every group.</summary>
    public void Step()
    {
        StepCount++;
        LastEpoch++;
        var lrs = ComputeLr();
        for (int i = 0; i < lrs.Length; i++) Optimizer.ParamGroups[i].Lr = lrs[i];
        _lastLr = lrs;
    }

    /// <summary>The lr of each group set by the last <see cref="Step"/> (PyTorch's <c>get_last_lr()</c>).</summary>
    public double[] GetLastLr() => (double[])_lastLr.Clone();

    /// <summary>The new lr of each group for epoch <see cref="LastEpoch"/>, from the groups' current lr.</summary>
    protected abstract double[] ComputeLr();

    /// <summary>The schedule's position: <c>last_epoch</c>, <c>step_count</c> (int64 scalars), <c>base_lrs</c>, <c>last_lr</c> (float64 vectors).</summary>
    public Dictionary<string, Tensor> StateDict() => new()
    {
        ["last_epoch"] = Tensor.Scalar(LastEpoch, DType.Int64),
        ["step_count"] = Tensor.Scalar(StepCount, DType.Int64),
        ["base_lrs"] = Tensor.FromArray(BaseLrs.ToArray()),
        ["last_lr"] = Tensor.FromArray(_lastLr),
    };

    /// <summary>Restores the position saved by <see cref="StateDict"/> (the groups' lr come from the optimizer's own state dict); validates before writing.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        Apply(ValidateStateDict(stateDict));
    }

    /// <summary>Writes a state that <see cref="ValidateStateDict"/> accepted; cannot fail.</summary>
    internal void Apply((int LastEpoch, int StepCount, double[] BaseLrs, double[] LastLr) state)
    {
        var (lastEpoch, stepCount, baseLrs, lastLr) = state;
        LastEpoch = lastEpoch;
        StepCount = stepCount;
        BaseLrs = baseLrs;
        _lastLr = lastLr;
    }

    /// <summary>Checks a state dict without changing anything; throws naming the problem.</summary>
    internal (int LastEpoch, int StepCount, double[] BaseLrs, double[] LastLr) ValidateStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        int groups = Optimizer.ParamGroups.Count;
        Tensor Get(string k) =>
            !stateDict.TryGetValue(k, out var t) ? throw new ArgumentException($"{GetType().Name}.LoadStateDict: missing key \"{k}\"; nothing was loaded")
            : t is null ? throw new ArgumentException($"{GetType().Name}.LoadStateDict: \"{k}\" is null, expected a tensor; nothing was loaded")
            : t.IsDisposed ? throw new ArgumentException($"{GetType().Name}.LoadStateDict: the tensor for \"{k}\" was disposed; nothing was loaded")
            : t;
        var lastEpoch = Get("last_epoch"); var stepCount = Get("step_count"); var baseLrs = Get("base_lrs"); var lastLr = Get("last_lr");
        if (lastEpoch.Numel != 1 || stepCount.Numel != 1 || baseLrs.Dim != 1 || baseLrs.Numel != groups || lastLr.Dim != 1 || lastLr.Numel != groups
            || !baseLrs.DType.IsFloatingPoint() || !lastLr.DType.IsFloatingPoint())
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: expected scalar last_epoch/step_count and float base_lrs/last_lr of length {groups}; nothing was loaded");
        double le = lastEpoch.Item(), sc = stepCount.Item();
        if (le < 0 || sc < 1 || le != Math.Floor(le) || sc != Math.Floor(sc) || le > int.MaxValue || sc > int.MaxValue)
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: expected last_epoch >= 0 and step_count >= 1, got {le} and {sc}; nothing was loaded");
        var bases = baseLrs.To(DType.Float64).ToArray<double>();
        var lasts = lastLr.To(DType.Float64).ToArray<double>();
        // A learning rate is a finite number >= 0: a NaN, infinite or negative one from a damaged file
        // would silently turn every later step into NaN or gradient ascent.
        for (int i = 0; i < groups; i++)
            if (!(double.IsFinite(bases[i]) && bases[i] >= 0 && double.IsFinite(lasts[i]) && lasts[i] >= 0))
                throw new ArgumentException($"{GetType().Name}.LoadStateDict: expected finite learning rates >= 0, got base_lrs[{i}] = {bases[i]} and last_lr[{i}] = {lasts[i]}; nothing was loaded");
        return ((int)le, (int)sc, bases, lasts);
    }
}

/// <summary>Multiplies each group's lr by <c>gamma</c> every <c>stepSize</c> epochs (<c>torch.optim.lr_scheduler.StepLR</c>).</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the schedule and takes its first step.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLR expected stepSize > 0, got {stepSize}");
        StepSize = stepSize;
        Gamma = gamma;
        Initialize();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr() =>
        Optimizer.ParamGroups.Select(g => LastEpoch == 0 || LastEpoch % StepSize != 0 ? g.Lr : g.Lr * Gamma).ToArray();
}

/// <summary>
/// Cosine annealing from each group's initial lr down to <c>etaMin</c> over <c>tMax</c> epochs, and back
/// up after (<c>torch.optim.lr_scheduler.CosineAnnealingLR</c>): lr_t = etaMin + (base - etaMin)(1 + cos(pi t / tMax)) / 2,
/// computed with PyTorch's recursive form so the values agree with PyTorch's step by step.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the schedule and takes its first step.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), $"CosineAnnealingLR expected tMax > 0, got {tMax}");
        TMax = tMax;
        EtaMin = etaMin;
        Initialize();
    }

    /// <summary>Half-period in epochs.</summary>
    public int TMax { get; }

    /// <summary>Lowest lr.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr()
    {
        var groups = Optimizer.ParamGroups;
        var result = new double[groups.Count];
        int t = LastEpoch;
        for (int i = 0; i < result.Length; i++)
        {
            double lr = groups[i].Lr, baseLr = BaseLrs[i];
            if (t == 0) result[i] = lr;
            else if (StepCount == 1 && t > 0) result[i] = EtaMin + (baseLr - EtaMin) * (1 + Math.Cos(t * Math.PI / TMax)) / 2;
            else if (((t - 1 - TMax) % (2 * TMax) + 2 * TMax) % (2 * TMax) == 0) result[i] = lr + (baseLr - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
            else result[i] = (1 + Math.Cos(Math.PI * t / TMax)) / (1 + Math.Cos(Math.PI * (t - 1) / TMax)) * (lr - EtaMin) + EtaMin;
        }
        return result;
    }
}
