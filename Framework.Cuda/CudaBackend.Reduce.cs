using Framework.Backends;

namespace Framework.Cuda;

// Reductions (kernels/reduce.ptx) and the softmax family (kernels/softmax.ptx).
public sealed partial class CudaBackend
{
    private const int RowThreads = 256;

    /// <summary>
    /// The row kernels reduce a dense [rows, len] buffer. When the reduced dims are x's trailing dims
    /// (the usual case) x is used in place; a sum or mean over consecutive leading or middle dims of a
    /// contiguous x uses the column kernel in place; otherwise x is permuted (kept dims first, reduced
    /// dims last, each in order) and copied once, so y's element order is the row order.
    /// </summary>
    public override void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y, Tensor? indices, bool unbiased)
    {
        if (x.Numel == 0)
        {
            // Sum of nothing is 0 and mean/var of nothing NaN, as PyTorch (max of nothing is refused earlier).
            Fill(y, op == ReduceOp.Sum ? 0 : double.NaN);
            return;
        }
        int rank = x.Dim;
        var reduced = new bool[rank];
        foreach (int d in dims) reduced[d] = true;
        long len = 1;
        foreach (int d in dims) len *= x._shape[d];
        long rows = x.Numel / len;
        bool trailing = x.IsContiguous && dims.Select((d, i) => d == rank - dims.Length + i).All(b => b);
        bool consecutive = dims.Select((d, i) => d == dims[0] + i).All(b => b);
        // The column kernel has one thread per output: fine for many outputs or short columns; a few
        // long columns (a [1M, 2] sum over dim 0) go through packing and the split row path instead.
        if (!trailing && consecutive && x.IsContiguous && op is ReduceOp.Sum or ReduceOp.Mean && (rows >= 256 || len <= 8192))
        {
            // [outer, len, inner] with inner > 1: column sums read x in place, no packing copy.
            long inner = 1;
            for (int d = dims[^1] + 1; d < rank; d++) inner *= x._shape[d];
            var cargs = new KernelParameterBuffer().Add(DevicePtr(y)).Add(DevicePtr(x)).Add((ulong)rows).Add((ulong)len).Add((ulong)inner);
            uint cthreads = (uint)Math.Min(RowThreads, (rows + 31) / 32 * 32);
            Launch($"reduce_cols_{KernelCatalog.OpName(op)}_{Suffix(x.DType)}", GridFor(rows, (int)cthreads), cthreads, 0, cargs);
            return;
        }
        using var scope = TensorScope.Suppress();
        Tensor? packed = null;
        try
        {
            if (!trailing)
            {
                var perm = Enumerable.Range(0, rank).Where(d => !reduced[d]).Concat(dims).ToArray();
                var view = new Tensor(x.Storage, perm.Select(d => x._shape[d]).ToArray(), perm.Select(d => x._strides[d]).ToArray(),
                    x._offset, x.DType, retain: true, register: false);
                packed = new Tensor(Allocate(x.Numel * x.DType.ElementSize()), view._shape, Shapes.ContiguousStrides(view._shape), 0,
                    x.DType, retain: false, register: false);
                Copy(view, packed);
                view.Dispose();
            }
            var src = packed ?? x;
            bool splittable = op == ReduceOp.Sum || (op == ReduceOp.Mean && x.DType != DType.Int64);
            if (splittable && rows < SplitRowsBelow && len >= SplitMinLength)
            {
                ReduceSplit(op, src, rows, len, y);
                return;
            }
            string name = $"reduce_{KernelCatalog.OpName(op)}_{Suffix(x.DType)}";
            var args = new KernelParameterBuffer()
                .Add(DevicePtr(y)).Add(DevicePtrOrZero(indices)).Add(DevicePtr(src))
                .Add((ulong)rows).Add((ulong)len).Add(unbiased ? 1u : 0u);
            // The sum kernels also take parts and chunk: one part of the whole row here.
            if (op is not (ReduceOp.Max or ReduceOp.Min)) args.Add(1UL).Add((ulong)len);
            Launch(name, (uint)Math.Min(rows, 4096), RowBlock(len), 0, args);
        }
        finally
        {
            packed?.Dispose();
        }
    }

    /// <summary>Fewer rows than this leave most of a GPU idle with one block per row ...</summary>
    private const long SplitRowsBelow = 64;

    /// <summary>... when each row is at least this long: such rows are split into parts (two stages).</summary>
    private const long SplitMinLength = 1 << 16;

    /// <summary>
    /// Threads per row block: at least 4 elements per thread, so the block combine (5 shuffle rounds,
    /// the slot merge) costs less per element than the loads it reduces; 32 to 256.
    /// </summary>
    private static uint RowBlock(long len) => (uint)Math.Clamp((len / 4 + 31) / 32 * 32, 32, RowThreads);

    /// <summary>A scratch tensor outside any scope; the caller disposes it.</summary>
    private Tensor Scratch(int[] shape, DType dtype) =>
        new(Allocate(Shapes.Numel(shape) * dtype.ElementSize()), shape, Shapes.ContiguousStrides(shape), 0, dtype, retain: false, register: false);

    /// <summary>
    /// Sum or mean of a few long rows in two stages: reduce_part_T sums chunks of at least 4096
    /// elements into f64 (s64) partials, about 512 work items in all, then reduce_sum over each row's
    /// partials; the mean scales by 1/len in f64 and one copy rounds to y's dtype. Reads x once.
    /// </summary>
    private void ReduceSplit(ReduceOp op, Tensor src, long rows, long len, Tensor y)
    {
        long parts = Math.Clamp(512 / rows, 2, Math.Max(2, len / 4096));
        long chunk = (len + parts - 1) / parts;
        parts = (len + chunk - 1) / chunk;
        var acc = src.DType == DType.Int64 ? DType.Int64 : DType.Float64;
        using var partial = Scratch([checked((int)(rows * parts))], acc);
        var args = new KernelParameterBuffer().Add(DevicePtr(partial)).Add(0UL).Add(DevicePtr(src))
            .Add((ulong)(rows * parts)).Add((ulong)len).Add(0u).Add((ulong)parts).Add((ulong)chunk);
        Launch($"reduce_part_{Suffix(src.DType)}", (uint)Math.Min(rows * parts, 4096), RowBlock(chunk), 0, args);
        using var total = Scratch(y._shape, acc);
        args = new KernelParameterBuffer().Add(DevicePtr(total)).Add(0UL).Add(DevicePtr(partial))
            .Add((ulong)rows).Add((ulong)parts).Add(0u).Add(1UL).Add((ulong)parts);
        Launch($"reduce_sum_{Suffix(acc)}", (uint)Math.Min(rows, 4096), RowBlock(parts), 0, args);
        if (op == ReduceOp.Mean) Unary(UnaryOp.MulScalar, total, total, 1.0 / len, 0);
        Copy(total, y);
    }

    private static (long Outer, long N, long Inner) RowShape(Tensor t, int dim)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= t._shape[d];
        for (int d = dim + 1; d < t.Dim; d++) inner *= t._shape[d];
        return (outer, t.Dim == 0 ? 1 : t._shape[dim], inner);
    }

    /// <summary>A contiguous alias of t, or a contiguous copy the caller must dispose.</summary>
    private Tensor Dense(Tensor t)
    {
        if (t.IsContiguous) return new Tensor(t.Storage, t._shape, t._strides, t._offset, t.DType, retain: true, register: false);
        var c = new Tensor(Allocate(t.Numel * t.DType.ElementSize()), t._shape, Shapes.ContiguousStrides(t._shape), 0, t.DType, retain: false, register: false);
        Copy(t, c);
        return c;
    }

    /// <summary>Largest dynamic shared memory the softmax kernels ask for (of the 48 KiB every GPU gives a block).</summary>
    private const long SoftmaxCacheLimit = 32 * 1024;

    /// <summary>
    /// Dynamic shared bytes for the softmax kernels' row cache (8 warps x n elements x arrays), or 0 when
    /// the row does not fit: the kernels then re-read global memory in their later passes.
    /// </summary>
    private static uint SoftmaxCacheBytes(long n, DType dtype, int arrays)
    {
        long bytes = RowThreads / 32 * n * dtype.ElementSize() * arrays;
        return bytes <= SoftmaxCacheLimit ? (uint)bytes : 0;
    }

    /// <inheritdoc />
    public override void Softmax(Tensor x, int dim, Tensor y, bool log)
    {
        if (x.Numel == 0) return;
        using var xc = Dense(x);
        var (outer, n, inner) = RowShape(x, dim);
        uint cache = SoftmaxCacheBytes(n, x.DType, arrays: 1);
        var args = new KernelParameterBuffer().Add(DevicePtr(y)).Add(DevicePtr(xc)).Add((ulong)(outer * inner)).Add((ulong)n).Add((ulong)inner)
            .Add(cache > 0 ? 1u : 0u);
        Launch($"{(log ? "logsoftmax" : "softmax")}_{Suffix(x.DType)}", GridFor(outer * inner, RowThreads / 32), RowThreads, cache, args);
    }

    /// <inheritdoc />
    public override void SoftmaxBackward(Tensor g, Tensor y, int dim, Tensor dx, bool log)
    {
        if (y.Numel == 0) return;
        using var gc = Dense(g);
        using var yc = Dense(y);
        var (outer, n, inner) = RowShape(y, dim);
        // The kernel reserves room for g and y per warp (the log variant only uses g's half).
        uint cache = SoftmaxCacheBytes(n, y.DType, arrays: 2);
        var args = new KernelParameterBuffer().Add(DevicePtr(dx)).Add(DevicePtr(gc)).Add(DevicePtr(yc))
            .Add((ulong)(outer * inner)).Add((ulong)n).Add((ulong)inner).Add(cache > 0 ? 1u : 0u);
        Launch($"{(log ? "logsoftmax_bwd" : "softmax_bwd")}_{Suffix(y.DType)}", GridFor(outer * inner, RowThreads / 32), RowThreads, cache, args);
    }
}
