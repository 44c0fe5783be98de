using Framework.Backends;

namespace Framework.Cuda;

// Reductions (kernels/reduce.ptx) and the softmax family (kernels/softmax.ptx).
public sealed partial class CudaBackend
{
    private const int RowThreads = 256;

    /// <summary>
    /// The kernels reduce rows of a dense [rows, len] buffer. When the reduced dims are already a dense
    /// trailing run of x (the usual case) x is used in place; otherwise x is permuted (kept dims first,
    /// reduced dims last, each in order) and copied once, so y's element order is the row order.
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
            string name = $"reduce_{KernelCatalog.OpName(op)}_{Suffix(x.DType)}";
            var args = new KernelParameterBuffer()
                .Add(DevicePtr(y)).Add(DevicePtrOrZero(indices)).Add(DevicePtr(src))
                .Add((ulong)rows).Add((ulong)len).Add(unbiased ? 1u : 0u);
            uint threads = (uint)Math.Clamp((len + 31) / 32 * 32, 32, RowThreads);
            Launch(name, (uint)Math.Min(rows, 4096), threads, 0, args);
        }
        finally
        {
            packed?.Dispose();
        }
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

    /// <inheritdoc />
    public override void Softmax(Tensor x, int dim, Tensor y, bool log)
    {
        if (x.Numel == 0) return;
        using var xc = Dense(x);
        var (outer, n, inner) = RowShape(x, dim);
        var args = new KernelParameterBuffer().Add(DevicePtr(y)).Add(DevicePtr(xc)).Add((ulong)(outer * inner)).Add((ulong)n).Add((ulong)inner);
        Launch($"{(log ? "logsoftmax" : "softmax")}_{Suffix(x.DType)}", GridFor(outer * inner, RowThreads / 32), RowThreads, 0, args);
    }

    /// <inheritdoc />
    public override void SoftmaxBackward(Tensor g, Tensor y, int dim, Tensor dx, bool log)
    {
        if (y.Numel == 0) return;
        using var gc = Dense(g);
        using var yc = Dense(y);
        var (outer, n, inner) = RowShape(y, dim);
        var args = new KernelParameterBuffer().Add(DevicePtr(dx)).Add(DevicePtr(gc)).Add(DevicePtr(yc))
            .Add((ulong)(outer * inner)).Add((ulong)n).Add((ulong)inner);
        Launch($"{(log ? "logsoftmax_bwd" : "softmax_bwd")}_{Suffix(y.DType)}", GridFor(outer * inner, RowThreads / 32), RowThreads, 0, args);
    }
}
