namespace Framework.Nn;

/// <summary>
/// Group normalization over (N, C, *): the channels of each sample are split into
/// <see cref="NumGroups"/> groups, each normalized by its own mean and biased variance; affine per
/// channel. InstanceNorm is GroupNorm with C groups, and both run on the same fused kernels.
/// </summary>
public sealed class GroupNorm : Layer
{
    /// <summary>Creates the module; <paramref name="numChannels"/> must be divisible by <paramref name="numGroups"/>.</summary>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32, Device? device = null, string? name = null)
        : base(name)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm expected numChannels ({numChannels}) divisible by numGroups ({numGroups}), both positive");
        NormBase.CheckEps("GroupNorm", eps);
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (affine)
        {
            RegisterParameter("weight", Tensor.Ones([numChannels], dtype, device));
            RegisterParameter("bias", Tensor.Zeros([numChannels], dtype, device));
        }
    }

    /// <summary>Number of groups.</summary>
    public int NumGroups { get; }

    /// <summary>Number of channels.</summary>
    public int NumChannels { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Per-channel scale, or null without affine.</summary>
    public Tensor? Weight => NamedParameters(false).Any() ? GetParameter("weight") : null;

    /// <summary>Per-channel shift, or null without affine.</summary>
    public Tensor? Bias => NamedParameters(false).Any() ? GetParameter("bias") : null;

    /// <summary>Normalizes an (N, C, *) input.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Dim < 2 || input.Size(1) != NumChannels)
            throw new ArgumentException($"GroupNorm expected input (N, {NumChannels}, *), got {Shapes.Format(input.Shape)}");
        return F.GroupNorm(input, NumGroups, Weight, Bias, Eps);
    }
}

/// <summary>Layer normalization over the trailing <see cref="NormalizedShape"/> dims, with per-element affine.</summary>
public sealed class LayerNorm : Layer
{
    /// <summary>Creates the module.</summary>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, DType dtype = DType.Float32, Device? device = null, string? name = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm expected a non-empty normalized shape of positive sizes, got {Shapes.Format(normalizedShape)}");
        NormBase.CheckEps("LayerNorm", eps);
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            RegisterParameter("weight", Tensor.Ones(normalizedShape, dtype, device));
            RegisterParameter("bias", Tensor.Zeros(normalizedShape, dtype, device));
        }
    }

    /// <summary>The trailing shape normalized over.</summary>
    public int[] NormalizedShape { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Per-element scale, or null without affine.</summary>
    public Tensor? Weight => NamedParameters(false).Any() ? GetParameter("weight") : null;

    /// <summary>Per-element shift, or null without affine.</summary>
    public Tensor? Bias => NamedParameters(false).Any() ? GetParameter("bias") : null;

    /// <summary>Normalizes the trailing dims of the input.</summary>
    public override Tensor Forward(Tensor input) => F.LayerNorm(input, NormalizedShape, Weight, Bias, Eps);
}
