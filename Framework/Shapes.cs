namespace Framework;

/// <summary>Shape arithmetic shared by the tensor API and the backends.</summary>
internal static class Shapes
{
    /// <summary>
    /// The number of elements of <paramref name="shape"/>, checked: every size must be non-negative and
    /// the product of the sizes (counting 0 as 1, so that the contiguous strides of an empty tensor fit
    /// too) at most <see cref="Tensor.MaxElements"/>. Throws <see cref="ArgumentException"/> otherwise,
    /// so every caller rejects a bad shape before anything is allocated.
    /// </summary>
    public static long Numel(ReadOnlySpan<int> shape, string op = "shape")
    {
        long span = CheckedSpan(shape, op);
        foreach (int d in shape) if (d == 0) return 0;
        return span;
    }

    /// <summary>Product of max(size, 1), checked against <see cref="Tensor.MaxElements"/>; sizes must be non-negative.</summary>
    private static long CheckedSpan(ReadOnlySpan<int> shape, string op)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"{op}: sizes must be non-negative, got {Format(shape)}");
            // n <= MaxElements and d <= int.MaxValue, so checking before multiplying never overflows.
            if (d > 1 && n > Tensor.MaxElements / d)
                throw new ArgumentException(
                    $"{op}: shape {Format(shape)} has more than {Tensor.MaxElements} (Tensor.MaxElements) elements");
            n *= Math.Max(d, 1);
        }
        return n;
    }

    /// <summary>
    /// a * b for element counts, checked against <see cref="Tensor.MaxElements"/> (both must be non-negative).
    /// </summary>
    public static long MulElements(long a, long b, string op, string what)
    {
        if (a < 0 || b < 0) throw new ArgumentException($"{op}: {what} must be non-negative, got {a} * {b}");
        if (a != 0 && b > Tensor.MaxElements / a)
            throw new ArgumentException($"{op}: {what} ({a} * {b}) exceeds {Tensor.MaxElements} (Tensor.MaxElements)");
        return a * b;
    }

    /// <summary><paramref name="value"/> as a dimension size; throws <see cref="ArgumentException"/> naming <paramref name="what"/> when it does not fit in an int.</summary>
    public static int ToSize(long value, string op, string what)
    {
        if (value < 0 || value > int.MaxValue)
            throw new ArgumentException($"{op}: {what} must be between 0 and {int.MaxValue} (a dimension size is an int), got {value}");
        return (int)value;
    }

    public static long[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        CheckedSpan(shape, "shape");
        var strides = new long[shape.Length];
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
        return strides;
    }

    /// <summary>
    /// True when two different indices of a tensor with these sizes and strides address the same
    /// element: a stride 0 on a dim of size > 1 (Expand), or strides too small for the dims inside
    /// them. Sorted by stride, a layout is free of overlap when each stride exceeds the furthest
    /// offset the smaller-stride dims can reach; every view this framework makes satisfies that
    /// exactly when it does not overlap. Empty tensors have no overlap.
    /// </summary>
    public static bool HasInternalOverlap(ReadOnlySpan<int> shape, ReadOnlySpan<long> strides)
    {
        var dims = new List<(long Stride, int Size)>(shape.Length);
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0) return false;
            if (shape[i] == 1) continue;
            if (strides[i] == 0) return true;
            dims.Add((Math.Abs(strides[i]), shape[i]));
        }
        dims.Sort(static (a, b) => a.Stride.CompareTo(b.Stride));
        long reach = 0; // the largest offset the dims so far can address
        foreach (var (stride, size) in dims)
        {
            if (stride <= reach) return true;
            reach += stride * (size - 1);
        }
        return false;
    }

    /// <summary>Row-major dense; dims of size 1 may have any stride, and empty tensors are contiguous.</summary>
    public static bool IsContiguous(ReadOnlySpan<int> shape, ReadOnlySpan<long> strides)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 0) return true;
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    public static int NormalizeDim(int dim, int rank, string op)
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(nameof(dim),
                $"{op}: dimension out of range (expected to be in range of [{-r}, {r - 1}], but got {dim})");
        return dim < 0 ? dim + r : dim;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>NumPy broadcasting: align from the right; sizes must match or one of them be 1.</summary>
    public static int[] Broadcast(int[] a, int[] b, string op)
    {
        if (a.AsSpan().SequenceEqual(b)) return a;
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException(
                    $"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db})");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Strides that view a tensor of <paramref name="shape"/> as <paramref name="target"/> (0 on broadcast dims).</summary>
    public static long[] BroadcastStrides(int[] shape, long[] strides, int[] target)
    {
        var result = new long[target.Length];
        int lead = target.Length - shape.Length;
        for (int i = 0; i < target.Length; i++)
        {
            int j = i - lead;
            result[i] = j < 0 || shape[j] == 1 && target[i] != 1 ? 0 : strides[j];
        }
        return result;
    }

    /// <summary>Sorted distinct normalised dims; null or empty means all dims.</summary>
    public static int[] ReductionDims(int[]? dims, int rank, string op)
    {
        if (dims is null || dims.Length == 0)
        {
            var all = new int[rank];
            for (int i = 0; i < rank; i++) all[i] = i;
            return all;
        }
        var result = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) result[i] = NormalizeDim(dims[i], rank, op);
        Array.Sort(result);
        for (int i = 1; i < result.Length; i++)
            if (result[i] == result[i - 1])
                throw new ArgumentException($"{op}: dim {result[i]} appears more than once in the list of dims");
        return result;
    }
}
