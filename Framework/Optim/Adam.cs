namespace Framework.Optim;

/// <summary>
/// Adam (<c>torch.optim.Adam</c>): bias-corrected first and second moment estimates, optional
/// AMSGrad, and L2 weight decay added to the gradient. One fused backend pass per parameter.
/// </summary>
/// <remarks>Hyperparameter names: <c>lr</c>, <c>beta1</c>, <c>beta2</c>, <c>eps</c>, <c>weight_decay</c>, <c>amsgrad</c> (0/1).</remarks>
public class Adam : Optimizer
{
    private readonly bool _decoupled;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> with PyTorch's defaults.</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false)
    {
    }

    private protected Adam(IEnumerable<Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(parameters, new Dictionary<string, double>
        {
            ["lr"] = lr, ["beta1"] = beta1, ["beta2"] = beta2, ["eps"] = eps, ["weight_decay"] = weightDecay, ["amsgrad"] = amsgrad ? 1 : 0,
        })
    {
        _decoupled = decoupled;
    }

    /// <inheritdoc/>
    protected override bool HasStepState => true;

    /// <inheritdoc/>
    protected override void ValidateOptions(IReadOnlyDictionary<string, double> o)
    {
        string name = GetType().Name;
        if (!(o["lr"] >= 0)) throw new ArgumentException($"{name} expected lr >= 0, got {o["lr"]}");
        if (!(o["eps"] >= 0)) throw new ArgumentException($"{name} expected eps >= 0, got {o["eps"]}");
        if (!(o["beta1"] >= 0 && o["beta1"] < 1)) throw new ArgumentException($"{name} expected 0 <= beta1 < 1, got {o["beta1"]}");
        if (!(o["beta2"] >= 0 && o["beta2"] < 1)) throw new ArgumentException($"{name} expected 0 <= beta2 < 1, got {o["beta2"]}");
        if (!(o["weight_decay"] >= 0)) throw new ArgumentException($"{name} expected weight_decay >= 0, got {o["weight_decay"]}");
        if (o["amsgrad"] is not (0 or 1)) throw new ArgumentException($"{name} expected amsgrad 0 or 1, got {o["amsgrad"]}");
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> StateNames(IReadOnlyDictionary<string, double> o) =>
        o["amsgrad"] != 0 ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, ParamState state, ParamGroup group)
    {
        bool amsgrad = group["amsgrad"] != 0;
        if (!state.Buffers.ContainsKey("exp_avg"))
        {
            state.Buffers["exp_avg"] = NewBuffer(param);
            state.Buffers["exp_avg_sq"] = NewBuffer(param);
        }
        // AMSGrad switched on after steps were taken starts its running maximum from zero, as PyTorch would on a fresh state.
        if (amsgrad && !state.Buffers.ContainsKey("max_exp_avg_sq")) state.Buffers["max_exp_avg_sq"] = NewBuffer(param);
        state.Step++;
        var maxSq = amsgrad ? state.Buffers["max_exp_avg_sq"] : null;
        param.Backend.AdamStep(param, grad, state.Buffers["exp_avg"], state.Buffers["exp_avg_sq"], maxSq, state.Step,
            group.Lr, group["beta1"], group["beta2"], group["eps"], group["weight_decay"], _decoupled);
        foreach (var b in state.Buffers.Values) b.BumpVersion();
    }
}

/// <summary>
/// AdamW (<c>torch.optim.AdamW</c>): Adam with decoupled weight decay, param *= 1 - lr * weight_decay
/// before the moment update. PyTorch's default weight decay for AdamW is 0.01.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer over <paramref name="parameters"/> with PyTorch's defaults.</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true)
    {
    }
}
