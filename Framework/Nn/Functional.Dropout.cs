namespace Framework.Nn;

public static partial class F
{
    /// <summary>
    /// Inverted dropout: in training, each element is zeroed with probability <paramref name="p"/> and the
    /// survivors are scaled by 1 / (1 - p), so the expected value is unchanged and eval needs no rescaling.
    /// Outside training (or with p = 0) the input itself is returned. The mask comes from
    /// <paramref name="generator"/>, so a run is reproducible from its seed.
    /// </summary>
    public static Tensor Dropout(Tensor input, double p, bool training, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(generator);
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"Dropout expected a probability p in [0, 1], got {p}");
        input.CheckFloatingPoint("Dropout");
        if (!training || p == 0) return input;
        if (p == 1) return input.Mul(0.0);
        using var u = Tensor.Rand(input._shape, generator, input.DType, input.Device);
        using var keep = u.Ge(p);
        using var mask = keep.Mul(1.0 / (1.0 - p));
        return input.Mul(mask);
    }
}
