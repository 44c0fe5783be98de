namespace Framework.Nn;

/// <summary>
/// Layers applied in order (PyTorch's <c>nn.Sequential</c>). Children are registered under "0", "1",
/// ..., so state-dict keys match PyTorch's (<c>0.weight</c>, <c>1.running_mean</c>).
/// </summary>
public sealed class Sequential : Layer
{
    private readonly List<Layer> _layers = [];

    /// <summary>Creates the container from <paramref name="layers"/>.</summary>
    public Sequential(params Layer[] layers) : this(null, layers) { }

    /// <summary>Creates a named container (the name prefixes its state-dict keys when it is the root).</summary>
    /// <param name="name">Layer name, or null.</param>
    /// <param name="layers">The layers, in order.</param>
    public Sequential(string? name, params Layer[] layers) : base(name)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var layer in layers) Append(layer);
    }

    /// <summary>Adds a layer at the end (key: its position) and returns this container.</summary>
    public Sequential Append(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (_layers.Any(l => ReferenceEquals(l, layer)))
            throw new ArgumentException($"Sequential already contains this {layer.GetType().Name}; a layer can appear once (its parameters would be registered twice)");
        RegisterModule(layer, _layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!Training) layer.Eval();
        _layers.Add(layer);
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Layer this[int index] => _layers[index];

    /// <summary>Runs the layers in order. Intermediate results are left to the caller's <see cref="TensorScope"/>.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var x = input;
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        "Sequential(\n" + string.Concat(_layers.Select((l, i) => $"  ({i}): {l}\n")) + ")";
}
