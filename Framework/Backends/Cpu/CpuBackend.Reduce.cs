using System.Numerics;
using System.Numerics.Tensors;

namespace Framework.Backends.Cpu;

internal sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// Reduction plan: the reduced dims are moved last. When they form one dense run (the usual case:
    /// trailing dims of a contiguous tensor) each output reads one contiguous row. When the kept dims
    /// are the dense run instead (sum over the batch), sums accumulate whole rows into the output.
    /// Otherwise the permuted view is copied once into a contiguous buffer.
    /// </summary>
    public override void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y, Tensor? indices, bool unbiased)
    {
        if (x.Numel == 0)
        {
            // Sum of nothing is 0 and mean/var of nothing is NaN, as in PyTorch (max of nothing is refused earlier).
            Fill(y, op == ReduceOp.Sum ? 0 : double.NaN);
            return;
        }
        int rank = x.Dim;
        var isReduced = new bool[rank];
        foreach (int d in dims) isReduced[d] = true;
        var keptSizes = new List<int>(); var keptStrides = new List<long>();
        var redSizes = new List<int>(); var redStrides = new List<long>();
        for (int d = 0; d < rank; d++)
        {
            if (isReduced[d]) { redSizes.Add(x._shape[d]); redStrides.Add(x._strides[d]); }
            else { keptSizes.Add(x._shape[d]); keptStrides.Add(x._strides[d]); }
        }
        long r = Shapes.Numel(redSizes.ToArray());
        if (IsDense(redSizes, redStrides))
        {
            ReduceRows(op, x, keptSizes.ToArray(), keptStrides.ToArray(), r, y, indices, unbiased);
            return;
        }
        if (op is ReduceOp.Sum or ReduceOp.Mean && IsDense(keptSizes, keptStrides))
        {
            ReduceColumns(op, x, redSizes.ToArray(), redStrides.ToArray(), r, y);
            return;
        }
        var perm = new int[rank];
        int k = 0;
        for (int d = 0; d < rank; d++) if (!isReduced[d]) perm[k++] = d;
        foreach (int d in dims) perm[k++] = d;
        // A backend works below autograd: the permuted view and its packed copy are plain, unscoped tensors.
        var permShape = new int[rank];
        var permStrides = new long[rank];
        for (int i = 0; i < rank; i++) { permShape[i] = x._shape[perm[i]]; permStrides[i] = x._strides[perm[i]]; }
        using var view = x.AsStridedAlias(permShape, permStrides, x._offset);
        using var packed = view.ContiguousOwned();
        var packedKept = new int[keptSizes.Count];
        keptSizes.CopyTo(packedKept);
        ReduceRows(op, packed, packedKept, Shapes.ContiguousStrides(packedKept).Select(s => s * r).ToArray(), r, y, indices, unbiased);
    }

    private static bool IsDense(List<int> sizes, List<long> strides)
    {
        long expected = 1;
        for (int i = sizes.Count - 1; i >= 0; i--)
        {
            if (sizes[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= sizes[i];
        }
        return true;
    }

    private static void ReduceRows(ReduceOp op, Tensor x, int[] keptSizes, long[] keptStrides, long r, Tensor y, Tensor? indices, bool unbiased)
    {
        switch (x.DType)
        {
            case DType.Float32: ReduceRowsAs<float>(op, x, keptSizes, keptStrides, r, y, indices, unbiased); break;
            case DType.Float64: ReduceRowsAs<double>(op, x, keptSizes, keptStrides, r, y, indices, unbiased); break;
            default: ReduceRowsInt(op, x, keptSizes, keptStrides, r, y, indices); break;
        }
    }

    private static long RowOffset(long o, int[] keptSizes, long[] keptStrides)
    {
        long off = 0;
        for (int d = keptSizes.Length - 1; d >= 0; d--)
        {
            off += o % keptSizes[d] * keptStrides[d];
            o /= keptSizes[d];
        }
        return off;
    }

    private static void ReduceRowsAs<T>(ReduceOp op, Tensor x, int[] keptSizes, long[] keptStrides, long r, Tensor y, Tensor? indices, bool unbiased)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        long* pi = indices is null ? null : Ptr<long>(indices);
        long outer = y.Numel;
        int len = checked((int)r);
        void Body(long o)
        {
            var row = new ReadOnlySpan<T>(px + RowOffset(o, keptSizes, keptStrides), len);
            py[o] = op switch
            {
                ReduceOp.Sum => TensorPrimitives.Sum(row),
                ReduceOp.Mean => TensorPrimitives.Sum(row) / T.CreateTruncating(len),
                ReduceOp.Var => Variance(row, unbiased),
                ReduceOp.Max => ArgExtreme(row, true, pi == null ? null : pi + o),
                _ => ArgExtreme(row, false, pi == null ? null : pi + o),
            };
        }
        if (outer * r < StridedLoop.ParallelThreshold || outer == 1) for (long o = 0; o < outer; o++) Body(o);
        else Parallel.For(0L, outer, Body);
    }

    private static T ArgExtreme<T>(ReadOnlySpan<T> row, bool max, long* index) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // IndexOfMax/IndexOfMin return the first NaN if there is one, so NaN propagates as in PyTorch.
        int i = max ? TensorPrimitives.IndexOfMax(row) : TensorPrimitives.IndexOfMin(row);
        // They also order -0 below +0 (IEEE 754 maximum/minimum), where PyTorch's comparisons see a tie:
        // when the extreme is a zero, the first zero of either sign is the first occurrence.
        if (T.IsZero(row[i])) i = FirstZero(row);
        if (index != null) *index = i;
        return row[i];
    }

    private static int FirstZero<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        while (!T.IsZero(row[j])) j++;
        return j;
    }

    /// <summary>Two passes: the mean, then the mean squared deviation (never E[x^2] - E[x]^2).</summary>
    internal static T Variance<T>(ReadOnlySpan<T> row, bool unbiased) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T n = T.CreateTruncating(row.Length);
        T mean = TensorPrimitives.Sum(row) / n;
        T acc = T.Zero;
        int i = 0;
        if (Vector.IsHardwareAccelerated && row.Length >= Vector<T>.Count)
        {
            var vm = new Vector<T>(mean);
            var va = Vector<T>.Zero;
            for (; i <= row.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var d = new Vector<T>(row[i..]) - vm;
                va += d * d;
            }
            acc = Vector.Sum(va);
        }
        for (; i < row.Length; i++) acc += (row[i] - mean) * (row[i] - mean);
        return acc / (unbiased ? n - T.One : n);
    }

    private static void ReduceRowsInt(ReduceOp op, Tensor x, int[] keptSizes, long[] keptStrides, long r, Tensor y, Tensor? indices)
    {
        long* px = Ptr<long>(x), py = Ptr<long>(y);
        long* pi = indices is null ? null : Ptr<long>(indices);
        for (long o = 0; o < y.Numel; o++)
        {
            var row = new ReadOnlySpan<long>(px + RowOffset(o, keptSizes, keptStrides), checked((int)r));
            long acc = op == ReduceOp.Max ? long.MinValue : op == ReduceOp.Min ? long.MaxValue : 0;
            int at = 0;
            for (int i = 0; i < row.Length; i++)
            {
                long v = row[i];
                if (op == ReduceOp.Max ? v > acc : op == ReduceOp.Min ? v < acc : false) { acc = v; at = i; }
                else if (op is ReduceOp.Sum or ReduceOp.Mean) acc += v;
            }
            py[o] = op == ReduceOp.Mean ? acc / r : acc;
            if (pi != null) pi[o] = at;
        }
    }

    private static void ReduceColumns(ReduceOp op, Tensor x, int[] redSizes, long[] redStrides, long r, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: ReduceColumnsAs<float>(op, x, redSizes, redStrides, r, y); break;
            case DType.Float64: ReduceColumnsAs<double>(op, x, redSizes, redStrides, r, y); break;
            default:
                {
                    long* px = Ptr<long>(x), py = Ptr<long>(y);
                    for (long o = 0; o < y.Numel; o++) py[o] = 0;
                    for (long k = 0; k < r; k++)
                    {
                        long off = RowOffset(k, redSizes, redStrides);
                        for (long o = 0; o < y.Numel; o++) py[o] += px[off + o];
                    }
                    if (op == ReduceOp.Mean) for (long o = 0; o < y.Numel; o++) py[o] /= r;
                    break;
                }
        }
    }

    private static void ReduceColumnsAs<T>(ReduceOp op, Tensor x, int[] redSizes, long[] redStrides, long r, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* px = Ptr<T>(x);
        int width = checked((int)y.Numel);
        var acc = new Span<T>(Ptr<T>(y), width);
        acc.Clear();
        for (long k = 0; k < r; k++)
            TensorPrimitives.Add(acc, new ReadOnlySpan<T>(px + RowOffset(k, redSizes, redStrides), width), acc);
        if (op == ReduceOp.Mean) TensorPrimitives.Divide(acc, T.CreateTruncating(r), acc);
    }
}
