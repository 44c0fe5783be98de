namespace Framework.Nn;

/// <summary>
/// Fully connected layer (PyTorch's <c>nn.Linear</c>): y = x W^T + b with weight [out, in] and bias
/// [out], initialised as PyTorch does, U(-1/sqrt(in), 1/sqrt(in)), from <c>generator</c> (weight first).
/// </summary>
/// <remarks>Without a generator every layer starts from seed 0; pass one shared generator to a whole model.</remarks>
public sealed class Linear : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Size of the input's last dim.</param>
    /// <param name="outFeatures">Size of the output's last dim.</param>
    /// <param name="bias">Learn a bias (default true).</param>
    /// <param name="generator">Source of the initial values (default: a new generator with seed 0).</param>
    /// <param name="dtype">Dtype of the parameters (float32 default).</param>
    /// <param name="device">Device of the parameters (CPU default).</param>
    /// <param name="name">Optional layer name.</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null, DType dtype = DType.Float32,
        Device? device = null, string? name = null)
        : base(name)
    {
        if (inFeatures < 0 || outFeatures < 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear expected non-negative feature counts, got inFeatures {inFeatures}, outFeatures {outFeatures}");
        Init.CheckDType("Linear", dtype);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        generator ??= new Generator(0);
        var dev = device ?? Framework.Device.Cpu;
        double bound = Init.FanInBound(inFeatures);
        using var scope = new TensorScope();
        RegisterParameter("weight", Init.Uniform([outFeatures, inFeatures], bound, generator, dtype, dev));
        if (bias) RegisterParameter("bias", Init.Uniform([outFeatures], bound, generator, dtype, dev));
    }

    /// <summary>Size of the input's last dim.</summary>
    public int InFeatures { get; }

    /// <summary>Size of the output's last dim.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight, [out, in].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>The bias, [out]; null when built with <c>bias: false</c>.</summary>
    public Tensor? Bias => NamedParameters(false).Any(p => p.Name == "bias") ? GetParameter("bias") : null;

    /// <summary>Maps [*, in] to [*, out].</summary>
    public override Tensor Forward(Tensor input) => F.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    public override string ToString() => $"Linear(in_features={InFeatures}, out_features={OutFeatures}, bias={Bias is not null})";
}
