namespace Framework.Optim;

/// <summary>
/// A set of parameters that share hyperparameters (PyTorch's <c>param_groups</c> entry). Every
/// hyperparameter is a number under PyTorch's name (<c>lr</c>, <c>weight_decay</c>, <c>momentum</c>, ...;
/// Adam's <c>betas</c> pair is <c>beta1</c>/<c>beta2</c>, flags are 0/1) so that a group maps to a
/// state dict and back without per-optimizer code. Schedulers change <see cref="Lr"/> between steps.
/// </summary>
public sealed class ParamGroup
{
    private readonly Dictionary<string, double> _options;

    internal ParamGroup(IReadOnlyList<Tensor> parameters, Dictionary<string, double> options)
    {
        Params = parameters;
        _options = options;
    }

    /// <summary>The parameters this group updates, in order.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>The hyperparameters by PyTorch name.</summary>
    public IReadOnlyDictionary<string, double> Options => _options;

    /// <summary>The learning rate.</summary>
    public double Lr
    {
        get => _options["lr"];
        set => this["lr"] = value;
    }

    /// <summary>
    /// A hyperparameter by PyTorch name. Setting an unknown name is an error, except
    /// <c>initial_lr</c>, which learning-rate schedulers add as PyTorch's do.
    /// </summary>
    public double this[string name]
    {
        get => _options.TryGetValue(name, out var v) ? v
            : throw new KeyNotFoundException($"parameter group has no hyperparameter \"{name}\"; it has {string.Join(", ", _options.Keys)}");
        set
        {
            if (!_options.ContainsKey(name) && name != "initial_lr")
                throw new KeyNotFoundException($"parameter group has no hyperparameter \"{name}\"; it has {string.Join(", ", _options.Keys)}");
            if (!double.IsFinite(value)) throw new ArgumentException($"hyperparameter \"{name}\" must be finite, got {value}");
            _options[name] = value;
        }
    }

    /// <summary>True when the group has the hyperparameter <paramref name="name"/>.</summary>
    public bool Has(string name) => _options.ContainsKey(name);

    internal void SetUnchecked(string name, double value) => _options[name] = value;
}
