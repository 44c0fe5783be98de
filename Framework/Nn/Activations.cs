namespace Framework.Nn;

/// <summary>max(x, 0) elementwise (PyTorch's <c>nn.ReLU</c>); the gradient at 0 is 0.</summary>
public sealed class ReLU : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="name">Optional layer name.</param>
    public ReLU(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();

    /// <inheritdoc/>
    public override string ToString() => "ReLU()";
}

/// <summary>x for x &gt;= 0, negativeSlope * x otherwise (PyTorch's <c>nn.LeakyReLU</c>).</summary>
public sealed class LeakyReLU : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="negativeSlope">Slope for negative inputs (default 0.01).</param>
    /// <param name="name">Optional layer name.</param>
    public LeakyReLU(double negativeSlope = 0.01, string? name = null) : base(name) => NegativeSlope = negativeSlope;

    /// <summary>Slope for negative inputs.</summary>
    public double NegativeSlope { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LeakyRelu(NegativeSlope);

    /// <inheritdoc/>
    public override string ToString() => $"LeakyReLU(negative_slope={NegativeSlope})";
}

/// <summary>1 / (1 + e^-x) elementwise (PyTorch's <c>nn.Sigmoid</c>).</summary>
public sealed class Sigmoid : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="name">Optional layer name.</param>
    public Sigmoid(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();

    /// <inheritdoc/>
    public override string ToString() => "Sigmoid()";
}

/// <summary>tanh x elementwise (PyTorch's <c>nn.Tanh</c>).</summary>
public sealed class Tanh : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="name">Optional layer name.</param>
    public Tanh(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();

    /// <inheritdoc/>
    public override string ToString() => "Tanh()";
}

/// <summary>Flattens dims startDim..endDim into one (PyTorch's <c>nn.Flatten</c>, default: all but the batch dim); a view when possible.</summary>
public sealed class Flatten : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="startDim">First dim to flatten (default 1, keeping the batch dim).</param>
    /// <param name="endDim">Last dim to flatten (default -1, the last).</param>
    /// <param name="name">Optional layer name.</param>
    public Flatten(int startDim = 1, int endDim = -1, string? name = null) : base(name)
    {
        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>First flattened dim.</summary>
    public int StartDim { get; }

    /// <summary>Last flattened dim.</summary>
    public int EndDim { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Flatten(StartDim, EndDim);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Flatten(start_dim={StartDim}, end_dim={EndDim})";
}

/// <summary>
/// Inverted dropout (PyTorch's <c>nn.Dropout</c>): in training mode each element is zeroed with
/// probability p and the rest scaled by 1/(1-p); in eval mode the input is returned unchanged.
/// </summary>
public sealed class Dropout : Layer
{
    private readonly Generator _generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element (default 0.5), in [0, 1].</param>
    /// <param name="generator">Source of the masks (default: a new generator with seed 0); the layer keeps drawing from it.</param>
    /// <param name="name">Optional layer name.</param>
    public Dropout(double p = 0.5, Generator? generator = null, string? name = null) : base(name)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout expected a probability p in [0, 1], got {p}");
        P = p;
        _generator = generator ?? new Generator(0);
    }

    /// <summary>Probability of zeroing an element.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Dropout(input, P, Training, _generator);

    /// <inheritdoc/>
    public override string ToString() => $"Dropout(p={P})";
}
