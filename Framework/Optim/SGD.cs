namespace Framework.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay, with PyTorch's update rule (<c>torch.optim.SGD</c>): the momentum buffer starts as the
/// first step's (decayed) gradient, without dampening. One fused backend pass per parameter.
/// </summary>
/// <remarks>Hyperparameter names: <c>lr</c>, <c>momentum</c>, <c>dampening</c>, <c>weight_decay</c>, <c>nesterov</c> (0/1).</remarks>
public sealed class SGD : Optimizer
{
    /// <summary>Creates the optimizer over <paramref name="parameters"/> (one group; add more with <see cref="Optimizer.AddParamGroup"/>).</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, new Dictionary<string, double>
        {
            ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening, ["weight_decay"] = weightDecay, ["nesterov"] = nesterov ? 1 : 0,
        })
    {
    }

    /// <inheritdoc/>
    protected override bool HasStepState => false;

    /// <inheritdoc/>
    protected override void ValidateOptions(IReadOnlyDictionary<string, double> o)
    {
        if (!(o["lr"] >= 0)) throw new ArgumentException($"SGD expected lr >= 0, got {o["lr"]}");
        if (!(o["momentum"] >= 0)) throw new ArgumentException($"SGD expected momentum >= 0, got {o["momentum"]}");
        if (!(o["weight_decay"] >= 0)) throw new ArgumentException($"SGD expected weight_decay >= 0, got {o["weight_decay"]}");
        if (!double.IsFinite(o["dampening"])) throw new ArgumentException($"SGD expected a finite dampening, got {o["dampening"]}");
        if (o["nesterov"] is not (0 or 1)) throw new ArgumentException($"SGD expected nesterov 0 or 1, got {o["nesterov"]}");
        // PyTorch's rule: Nesterov needs a momentum buffer that is not damped.
        if (o["nesterov"] == 1 && (o["momentum"] <= 0 || o["dampening"] != 0))
            throw new ArgumentException($"SGD with nesterov requires momentum > 0 and dampening 0, got momentum {o["momentum"]} and dampening {o["dampening"]}");
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> StateNames(IReadOnlyDictionary<string, double> o) => o["momentum"] != 0 ? ["momentum_buffer"] : [];

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, ParamState state, ParamGroup group)
    {
        double momentum = group["momentum"];
        Tensor? buf = null;
        bool first = false;
        if (momentum != 0 && !state.Buffers.TryGetValue("momentum_buffer", out buf))
        {
            // The kernel overwrites the buffer on the first step, so its initial contents do not matter.
            state.Buffers["momentum_buffer"] = buf = NewBuffer(param);
            first = true;
        }
        param.Backend.SgdStep(param, grad, buf, group.Lr, momentum, group["dampening"], group["weight_decay"], group["nesterov"] != 0, first);
        state.Step++;
        buf?.BumpVersion();
    }
}
