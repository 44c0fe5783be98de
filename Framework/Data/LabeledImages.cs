namespace Framework.Data;

/// <summary>
/// A set of single-channel images with integer labels, held on the host as read from a file
/// (<see cref="DigitsCsv"/>, <see cref="Idx"/>), before they become tensors.
/// </summary>
public sealed class LabeledImages
{
    /// <summary>Wraps <paramref name="pixels"/> (row-major, <c>count * height * width</c> raw values in [0, <paramref name="maxValue"/>]) and one label per image.</summary>
    public LabeledImages(float[] pixels, long[] labels, int height, int width, float maxValue)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size must be positive, got {height}x{width}");
        if (pixels.LongLength != (long)labels.Length * height * width)
            throw new ArgumentException($"{labels.Length} images of {height}x{width} need {(long)labels.Length * height * width} pixels, got {pixels.LongLength}");
        if (!(maxValue > 0)) throw new ArgumentException($"maxValue must be positive, got {maxValue}");
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        MaxValue = maxValue;
    }

    /// <summary>Raw pixel values, image after image, row-major.</summary>
    public float[] Pixels { get; }

    /// <summary>The label of each image.</summary>
    public long[] Labels { get; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>The largest possible raw pixel value (16 for the digits, 255 for IDX bytes); <see cref="ToDataset"/> divides by it.</summary>
    public float MaxValue { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Number of classes: the largest label plus one.</summary>
    public int Classes => Labels.Length == 0 ? 0 : (int)Labels.Max() + 1;

    /// <summary>
    /// A shuffled split into training and held-out indices: <paramref name="testFraction"/> of the
    /// images (rounded, at least one of each side when possible) are held out, drawn from <paramref name="generator"/>.
    /// </summary>
    public (int[] Train, int[] Test) Split(double testFraction, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(testFraction > 0 && testFraction < 1)) throw new ArgumentOutOfRangeException(nameof(testFraction), $"expected a fraction in (0, 1), got {testFraction}");
        var order = Enumerable.Range(0, Count).ToArray();
        generator.Shuffle(order.AsSpan());
        int test = Count < 2 ? 0 : Math.Clamp((int)Math.Round(Count * testFraction), 1, Count - 1);
        return (order[test..], order[..test]);
    }

    /// <summary>
    /// The images at <paramref name="indices"/> (all when null) as a dataset of float32 images
    /// [N, 1, H, W] scaled to [0, 1] and int64 labels [N], on the CPU.
    /// </summary>
    public TensorDataset ToDataset(IReadOnlyList<int>? indices = null)
    {
        indices ??= Enumerable.Range(0, Count).ToArray();
        int size = Height * Width;
        var x = new float[(long)indices.Count * size];
        var y = new long[indices.Count];
        float scale = 1f / MaxValue;
        for (int r = 0; r < indices.Count; r++)
        {
            int i = indices[r];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"image index {i} is outside the {Count} images");
            for (int k = 0; k < size; k++) x[(long)r * size + k] = Pixels[(long)i * size + k] * scale;
            y[r] = Labels[i];
        }
        return new TensorDataset(Tensor.FromArray(x, [indices.Count, 1, Height, Width]), Tensor.FromArray(y, [indices.Count]));
    }
}
