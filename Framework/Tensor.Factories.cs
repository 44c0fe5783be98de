using System.Runtime.InteropServices;

namespace Framework;

public sealed partial class Tensor
{
    private static int[] CheckShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"shape dimensions must be non-negative, got {Shapes.Format(shape)}");
        Shapes.Numel(shape); // throws for more than MaxElements elements, before anything is allocated
        return (int[])shape.Clone();
    }

    /// <summary>An uninitialised tensor (its contents are whatever the memory held).</summary>
    public static Tensor Empty(int[] shape, DType dtype = DType.Float32, Device? device = null) =>
        Empty(CheckShape(shape), dtype, device ?? Device.Cpu);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(CheckShape(shape), dtype, device ?? Device.Cpu);
        t.Backend.Fill(t, value);
        return t;
    }

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>A float32 CPU tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Full(shape, 0);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>A float32 CPU tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(shape, 1);

    /// <summary>Zeros with this tensor's shape, dtype and device.</summary>
    public Tensor ZerosLike() => Full(_shape, 0, DType, Device);

    /// <summary>Ones with this tensor's shape, dtype and device.</summary>
    public Tensor OnesLike() => Full(_shape, 1, DType, Device);

    /// <summary>A 0-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    /// <summary>Values start, start+step, ... below end (PyTorch's <c>arange</c>).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0) throw new ArgumentException("Arange expected a non-zero step, got 0", nameof(step));
        if (!double.IsFinite(start) || !double.IsFinite(end) || !double.IsFinite(step))
            throw new ArgumentException($"Arange expected finite start, end and step, got start {start}, end {end}, step {step}");
        double count = Math.Ceiling((end - start) / step);
        // The values are built in one managed array, and a 1-D size is an int.
        if (!(count <= Array.MaxLength))
            throw new ArgumentException($"Arange: start {start}, end {end}, step {step} gives {count} values; at most {Array.MaxLength} are supported");
        long n = Math.Max(0, (long)count);
        var values = new double[n];
        for (long i = 0; i < n; i++) values[i] = start + i * step;
        return Convert(FromArray(values, [checked((int)n)]), dtype, device ?? Device.Cpu);
    }

    /// <summary>Converts a freshly made host tensor, disposing the intermediates that the result does not reuse.</summary>
    private static Tensor Convert(Tensor host, DType dtype, Device device)
    {
        var typed = host.To(dtype);
        if (!ReferenceEquals(typed, host)) host.Dispose();
        var moved = typed.To(device);
        if (!ReferenceEquals(moved, typed)) typed.Dispose();
        return moved;
    }

    /// <summary>Values 0, 1, ... end-1.</summary>
    public static Tensor Arange(int end, DType dtype = DType.Float32) => Arange(0, end, 1, dtype);

    /// <summary>A float32 tensor copied from <paramref name="data"/>; shape defaults to 1-D.</summary>
    public static Tensor FromArray(float[] data, int[]? shape = null, Device? device = null) => From<float>(data, shape, DType.Float32, device);

    /// <summary>A float64 tensor copied from <paramref name="data"/>; shape defaults to 1-D.</summary>
    public static Tensor FromArray(double[] data, int[]? shape = null, Device? device = null) => From<double>(data, shape, DType.Float64, device);

    /// <summary>An int64 tensor copied from <paramref name="data"/>; shape defaults to 1-D.</summary>
    public static Tensor FromArray(long[] data, int[]? shape = null, Device? device = null) => From<long>(data, shape, DType.Int64, device);

    /// <summary>A float32 tensor copied from a span.</summary>
    public static Tensor From(ReadOnlySpan<float> data, int[] shape, Device? device = null) => From(data, shape, DType.Float32, device);

    /// <summary>A float64 tensor copied from a span.</summary>
    public static Tensor From(ReadOnlySpan<double> data, int[] shape, Device? device = null) => From(data, shape, DType.Float64, device);

    /// <summary>An int64 tensor copied from a span.</summary>
    public static Tensor From(ReadOnlySpan<long> data, int[] shape, Device? device = null) => From(data, shape, DType.Int64, device);

    private static Tensor From<T>(ReadOnlySpan<T> data, int[]? shape, DType dtype, Device? device) where T : unmanaged
    {
        shape = shape is null ? [data.Length] : CheckShape(shape);
        if (Shapes.Numel(shape) != data.Length)
            throw new ArgumentException($"shape {Shapes.Format(shape)} holds {Shapes.Numel(shape)} elements, but {data.Length} values were given");
        var t = Empty(shape, dtype, device ?? Device.Cpu);
        t.Backend.Upload(MemoryMarshal.AsBytes(data), t);
        return t;
    }

    /// <summary>Uniform samples in [0, 1) from <paramref name="generator"/>.</summary>
    public static Tensor Rand(int[] shape, Generator generator, DType dtype = DType.Float32, Device? device = null) =>
        Random(shape, generator, dtype, device, uniform: true);

    /// <summary>Standard normal samples from <paramref name="generator"/>.</summary>
    public static Tensor Randn(int[] shape, Generator generator, DType dtype = DType.Float32, Device? device = null) =>
        Random(shape, generator, dtype, device, uniform: false);

    private static Tensor Random(int[] shape, Generator generator, DType dtype, Device? device, bool uniform)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"random factories produce floating-point tensors, got dtype {dtype.Name()}");
        shape = CheckShape(shape);
        long numel = Shapes.Numel(shape);
        // The samples are drawn into one managed array first.
        if (numel > Array.MaxLength)
            throw new ArgumentException($"random factories support at most {Array.MaxLength} elements, got shape {Shapes.Format(shape)} ({numel} elements)");
        var values = new double[numel];
        for (int i = 0; i < values.Length; i++) values[i] = uniform ? generator.NextDouble() : generator.NextNormal();
        if (dtype == DType.Float64) return FromArray(values, shape, device);
        var f = new float[values.Length];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (float)values[i];
            if (uniform && f[i] == 1f) f[i] = BitConverter.Int32BitsToSingle(0x3F7FFFFF); // rounding must not reach 1 for Rand's [0, 1)
        }
        return FromArray(f, shape, device);
    }
}
