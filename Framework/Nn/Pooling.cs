namespace Framework.Nn;

/// <summary>Max pooling layer (PyTorch's <c>nn.MaxPool2d</c>); see <see cref="F.MaxPool2d(Tensor, int, int?, int, int, bool)"/>.</summary>
public sealed class MaxPool2d : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows (default: the window size).</param>
    /// <param name="padding">Implicit -inf padding per side, at most half the window (default 0).</param>
    /// <param name="dilation">Spacing between window taps (default 1).</param>
    /// <param name="ceilMode">Round the output size up instead of down (default false).</param>
    /// <param name="name">Optional layer name.</param>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false, string? name = null) : base(name)
    {
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
        Dilation = dilation;
        CeilMode = ceilMode;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }

    /// <summary>Stride.</summary>
    public int Stride { get; }

    /// <summary>Padding per side.</summary>
    public int Padding { get; }

    /// <summary>Dilation.</summary>
    public int Dilation { get; }

    /// <summary>Ceil mode.</summary>
    public bool CeilMode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc/>
    public override string ToString() => $"MaxPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={CeilMode})";
}

/// <summary>Average pooling layer (PyTorch's <c>nn.AvgPool2d</c>); see <see cref="F.AvgPool2d(Tensor, int, int?, int, bool, bool, int?)"/>.</summary>
public sealed class AvgPool2d : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows (default: the window size).</param>
    /// <param name="padding">Implicit zero padding per side, at most half the window (default 0).</param>
    /// <param name="ceilMode">Round the output size up instead of down (default false).</param>
    /// <param name="countIncludePad">Count padding zeros in the divisor (default true, as PyTorch).</param>
    /// <param name="divisorOverride">Divide by this instead of the window size.</param>
    /// <param name="name">Optional layer name.</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true,
        int? divisorOverride = null, string? name = null) : base(name)
    {
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
        DivisorOverride = divisorOverride;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }

    /// <summary>Stride.</summary>
    public int Stride { get; }

    /// <summary>Padding per side.</summary>
    public int Padding { get; }

    /// <summary>Ceil mode.</summary>
    public bool CeilMode { get; }

    /// <summary>Whether padding counts in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>Fixed divisor, or null.</summary>
    public int? DivisorOverride { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad, DivisorOverride);

    /// <inheritdoc/>
    public override string ToString() => $"AvgPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding})";
}

/// <summary>Adaptive average pooling to a fixed output size (PyTorch's <c>nn.AdaptiveAvgPool2d</c>).</summary>
public sealed class AdaptiveAvgPool2d : Layer
{
    /// <summary>Creates the layer with a square output.</summary>
    /// <param name="outputSize">Output height and width.</param>
    /// <param name="name">Optional layer name.</param>
    public AdaptiveAvgPool2d(int outputSize, string? name = null) : this((outputSize, outputSize), name) { }

    /// <summary>Creates the layer.</summary>
    /// <param name="outputSize">Output (height, width).</param>
    /// <param name="name">Optional layer name.</param>
    public AdaptiveAvgPool2d((int H, int W) outputSize, string? name = null) : base(name) => OutputSize = outputSize;

    /// <summary>Output (height, width).</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.AdaptiveAvgPool2d(input, OutputSize);

    /// <inheritdoc/>
    public override string ToString() => $"AdaptiveAvgPool2d(output_size={OutputSize})";
}
