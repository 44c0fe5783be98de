namespace Framework.Nn;

/// <summary>
/// A module with one tensor in and one tensor out: what <see cref="Sequential"/> chains. Layers,
/// activations and the norm modules derive from it; so can user models with a single input.
/// </summary>
public abstract class Layer : Module
{
    /// <summary>Creates a layer in training mode.</summary>
    /// <param name="name">Optional name (state-dict prefix of a root module; default key as a child).</param>
    protected Layer(string? name = null) : base(name) { }

    /// <summary>Computes the layer's output (PyTorch's <c>forward</c>).</summary>
    public abstract Tensor Forward(Tensor input);
}

/// <summary>PyTorch's default initialisation of convolution and linear layers.</summary>
internal static class Init
{
    /// <summary>
    /// U(-bound, bound) samples. PyTorch initialises weights with kaiming_uniform_(a = sqrt(5)):
    /// gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain sqrt(3 / fan_in) = 1 / sqrt(fan_in); biases
    /// with U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Both bounds are therefore <see cref="FanInBound"/>.
    /// </summary>
    public static Tensor Uniform(int[] shape, double bound, Generator generator, DType dtype, Device device)
    {
        using var noGrad = Tensor.NoGrad();
        using var u = Tensor.Rand(shape, generator, dtype, device);
        using var scaled = u.Mul(2 * bound);
        return scaled.Add(-bound);
    }

    /// <summary>1 / sqrt(fan_in), or 0 for an empty fan-in (PyTorch leaves such tensors at zero bound).</summary>
    public static double FanInBound(long fanIn) => fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;

    public static void CheckDType(string layer, DType dtype)
    {
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{layer} expected a floating-point dtype, got {dtype.Name()}");
    }
}
