namespace Framework.Optim;

/// <summary>
/// Base of the optimizers: parameter groups, per-parameter state, <see cref="ZeroGrad"/>, and the
/// state dict (see <see cref="StateDict"/> for its keys). A subclass supplies the update of one
/// parameter, which runs as one fused backend call (<see cref="Backends.Backend.SgdStep"/>,
/// <see cref="Backends.Backend.AdamStep"/>).
/// </summary>
/// <remarks>
/// The optimizer owns its state tensors (kept out of any <see cref="TensorScope"/>); dispose it to
/// release them. Parameters stay owned by their module.
/// </remarks>
public abstract partial class Optimizer : IDisposable
{
    private readonly List<ParamGroup> _groups = [];
    private readonly Dictionary<string, double> _defaults;

    /// <summary>Per-parameter state: a step count and named buffers with the parameter's shape.</summary>
    protected sealed class ParamState
    {
        /// <summary>Number of updates applied to this parameter (PyTorch's <c>state["step"]</c>).</summary>
        public long Step { get; set; }

        /// <summary>State tensors by PyTorch name (<c>momentum_buffer</c>, <c>exp_avg</c>, ...).</summary>
        public Dictionary<string, Tensor> Buffers { get; } = [];
    }

    private readonly Dictionary<Tensor, ParamState> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates an optimizer with one group holding <paramref name="parameters"/> and the given defaults.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, Dictionary<string, double> defaults)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _defaults = defaults;
        AddParamGroup(parameters);
    }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The hyperparameter defaults new groups start from.</summary>
    public IReadOnlyDictionary<string, double> Defaults => _defaults;

    /// <summary>
    /// Adds a group of parameters, with <paramref name="options"/> overriding the defaults by PyTorch
    /// name (for example <c>{"weight_decay": 0}</c> for biases). A parameter may be in one group only.
    /// </summary>
    public ParamGroup AddParamGroup(IEnumerable<Tensor> parameters, IReadOnlyDictionary<string, double>? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToList();
        var seen = new HashSet<Tensor>(_groups.SelectMany(g => g.Params), ReferenceEqualityComparer.Instance);
        foreach (var p in list)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!p.DType.IsFloatingPoint()) throw new ArgumentException($"{GetType().Name} can only optimize floating-point tensors, got {p.DType.Name()}");
            if (!p.IsLeaf) throw new ArgumentException($"{GetType().Name} can only optimize leaf tensors (parameters), got a tensor computed by {p.GradFn!.Name}");
            if (!seen.Add(p)) throw new ArgumentException($"{GetType().Name}: a parameter appears in more than one place in the parameter groups");
        }
        var merged = new Dictionary<string, double>(_defaults);
        if (options is not null)
        {
            foreach (var (k, v) in options)
            {
                if (!merged.ContainsKey(k)) throw new ArgumentException($"{GetType().Name} has no hyperparameter \"{k}\"; it has {string.Join(", ", _defaults.Keys)}");
                merged[k] = v;
            }
        }
        ValidateOptions(merged);
        var group = new ParamGroup(list, merged);
        _groups.Add(group);
        return group;
    }

    /// <summary>Throws when a hyperparameter value is out of range (checked for every group added or loaded).</summary>
    protected abstract void ValidateOptions(IReadOnlyDictionary<string, double> options);

    /// <summary>Names of the state buffers this optimizer keeps for a parameter, given its group's options.</summary>
    protected abstract IReadOnlyList<string> StateNames(IReadOnlyDictionary<string, double> options);

    /// <summary>True when this optimizer records a step count per parameter in its state dict (Adam; not SGD).</summary>
    protected abstract bool HasStepState { get; }

    /// <summary>Updates <paramref name="param"/> from its (contiguous, checked) gradient.</summary>
    protected abstract void Update(Tensor param, Tensor grad, ParamState state, ParamGroup group);

    /// <summary>Applies one update to every parameter that has a gradient; parameters without one are skipped.</summary>
    public void Step()
    {
        using var noGrad = Tensor.NoGrad();
        foreach (var group in _groups)
        {
            foreach (var p in group.Params)
            {
                if (p.Grad is not { } grad) continue;
                if (!p.IsContiguous) throw new InvalidOperationException($"{GetType().Name}.Step expected contiguous parameters, got one with strides [{string.Join(", ", p.Strides)}]");
                if (!grad.Shape.AsSpan().SequenceEqual(p.Shape) || grad.DType != p.DType || grad.Device != p.Device)
                    throw new InvalidOperationException(
                        $"{GetType().Name}.Step: gradient {grad.DType.Name()} {Shapes.Format(grad.Shape)} on {grad.Device} does not match its parameter {p.DType.Name()} {Shapes.Format(p.Shape)} on {p.Device}");
                if (!_state.TryGetValue(p, out var state)) _state[p] = state = new ParamState();
                var g = grad.IsContiguous ? grad : grad.ContiguousOwned();
                try { Update(p, g, state, group); }
                finally { if (!ReferenceEquals(g, grad)) g.Dispose(); }
                p.BumpVersion();
            }
        }
    }

    /// <summary>
    /// Clears the gradients of every parameter: drops them (<paramref name="setToNone"/>, the default,
    /// as PyTorch 2 does) or fills them with zeros.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        using var noGrad = Tensor.NoGrad();
        foreach (var p in _groups.SelectMany(g => g.Params))
        {
            if (p.Grad is null) continue;
            if (setToNone) { p.Grad.Dispose(); p.Grad = null; }
            else p.Grad.ZeroInPlace();
        }
    }

    /// <summary>A new state tensor of zeros shaped like <paramref name="param"/>, owned by the optimizer.</summary>
    protected static Tensor NewBuffer(Tensor param) => Own(Tensor.Zeros(param.Shape, param.DType, param.Device));

    /// <summary>Takes <paramref name="t"/> out of the current <see cref="TensorScope"/>: the optimizer disposes it.</summary>
    protected static Tensor Own(Tensor t)
    {
        TensorScope.Current?.Forget(t);
        return t;
    }

    /// <summary>Disposes every state tensor.</summary>
    public void Dispose()
    {
        ClearState();
        GC.SuppressFinalize(this);
    }

    private void ClearState()
    {
        foreach (var s in _state.Values)
            foreach (var t in s.Buffers.Values) t.Dispose();
        _state.Clear();
    }
}
