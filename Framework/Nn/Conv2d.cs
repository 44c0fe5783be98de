namespace Framework.Nn;

/// <summary>
/// 2-D convolution layer (PyTorch's <c>nn.Conv2d</c>): weight [out, in / groups, KH, KW] and optional
/// bias [out], both initialised as PyTorch does, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
/// fan_in = in / groups * KH * KW, drawn from <c>generator</c> (weight first, then bias). Zero padding only.
/// </summary>
/// <remarks>
/// Layers built without a generator all start from seed 0, so two layers of the same shape start equal;
/// pass one shared <see cref="Generator"/> to every layer of a model to give each its own draw.
/// </remarks>
public sealed class Conv2d : Layer
{
    /// <summary>Creates a layer with a square kernel and equal stride, padding and dilation in both dims.</summary>
    /// <param name="inChannels">C of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows (default 1).</param>
    /// <param name="padding">Zeros added on every side (default 0).</param>
    /// <param name="dilation">Spacing between kernel taps (default 1).</param>
    /// <param name="groups">Channel groups; in and out channels must both divide by it (default 1).</param>
    /// <param name="bias">Learn a per-channel bias (default true).</param>
    /// <param name="generator">Source of the initial values (default: a new generator with seed 0).</param>
    /// <param name="dtype">Dtype of the parameters (float32 default).</param>
    /// <param name="device">Device of the parameters (CPU default).</param>
    /// <param name="name">Optional layer name.</param>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
        bool bias = true, Generator? generator = null, DType dtype = DType.Float32, Device? device = null, string? name = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups,
            bias, generator, dtype, device, name)
    {
    }

    /// <summary>Creates a layer with (height, width) kernel, stride, padding and dilation; see the square overload for the parameters.</summary>
    /// <param name="inChannels">C of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="kernelSize">Kernel (height, width).</param>
    /// <param name="stride">Step (default (1, 1)).</param>
    /// <param name="padding">Zeros per side (default (0, 0)).</param>
    /// <param name="dilation">Tap spacing (default (1, 1)).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="bias">Learn a per-channel bias.</param>
    /// <param name="generator">Source of the initial values (default seed 0).</param>
    /// <param name="dtype">Dtype of the parameters.</param>
    /// <param name="device">Device of the parameters.</param>
    /// <param name="name">Optional layer name.</param>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? dilation = null, int groups = 1, bool bias = true, Generator? generator = null, DType dtype = DType.Float32,
        Device? device = null, string? name = null)
        : base(name)
    {
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(inChannels), $"Conv2d expected positive channel counts, got inChannels {inChannels}, outChannels {outChannels}");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d expected inChannels ({inChannels}) and outChannels ({outChannels}) to be divisible by groups ({groups})");
        if (kernelSize.H <= 0 || kernelSize.W <= 0) throw new ArgumentException($"Conv2d expected a positive kernel size, got ({kernelSize.H}, {kernelSize.W})");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentException($"Conv2d expected a positive stride, got ({s.H}, {s.W})");
        if (p.H < 0 || p.W < 0) throw new ArgumentException($"Conv2d expected a non-negative padding, got ({p.H}, {p.W})");
        if (d.H <= 0 || d.W <= 0) throw new ArgumentException($"Conv2d expected a positive dilation, got ({d.H}, {d.W})");
        // A dilated kernel wider than any int size can never fit an input (whose padded size must be an int).
        long effH = (long)d.H * (kernelSize.H - 1) + 1, effW = (long)d.W * (kernelSize.W - 1) + 1;
        if (effH > int.MaxValue || effW > int.MaxValue)
            throw new ArgumentException(
                $"Conv2d: kernel ({kernelSize.H}, {kernelSize.W}) with dilation ({d.H}, {d.W}) spans {effH}x{effW}, more than any input size (at most {int.MaxValue})");
        Init.CheckDType("Conv2d", dtype);
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = s;
        Padding = p;
        Dilation = d;
        Groups = groups;
        generator ??= new Generator(0);
        var dev = device ?? Framework.Device.Cpu;
        double bound = Init.FanInBound((long)inChannels / groups * kernelSize.H * kernelSize.W);
        using var scope = new TensorScope();
        RegisterParameter("weight", Init.Uniform([outChannels, inChannels / groups, kernelSize.H, kernelSize.W], bound, generator, dtype, dev));
        if (bias) RegisterParameter("bias", Init.Uniform([outChannels], bound, generator, dtype, dev));
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride (height, width).</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Zero padding (height, width).</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Dilation (height, width).</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>The weight, [out, in / groups, KH, KW].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>The bias, [out]; null when built with <c>bias: false</c>.</summary>
    public Tensor? Bias => NamedParameters(false).Any(p => p.Name == "bias") ? GetParameter("bias") : null;

    /// <summary>Convolves an [N, in, H, W] input into [N, out, OH, OW].</summary>
    public override Tensor Forward(Tensor input) => F.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    public override string ToString() =>
        $"Conv2d({InChannels}, {OutChannels}, kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, groups={Groups}, bias={Bias is not null})";
}
