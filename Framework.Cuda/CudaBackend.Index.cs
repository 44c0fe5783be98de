namespace Framework.Cuda;

// Gather / scatter-add along one dim (kernels/index.ptx).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public override void Gather(Tensor x, int dim, Tensor index, Tensor y) => IndexAlong("gather", x, dim, index, y);

    /// <inheritdoc />
    public override void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src) => IndexAlong("scatter_add", dst, dim, index, src);

    /// <summary>
    /// Launches gather/scatter-add over index's elements. Index (and src/y, which has its shape) and
    /// the data are contiguous; the dims are merged first, so a kernel decomposes each element index
    /// over as few dims as possible.
    /// </summary>
    private void IndexAlong(string op, Tensor data, int dim, Tensor index, Tensor other)
    {
        if (index.Numel == 0) return;
        var (sizes, strides, at) = MergeIndexDims(index._shape, data._shape, dim);
        if (sizes.Length > MaxKernelDims)
            throw new NotSupportedException(
                $"{op} on the CUDA backend supports up to {MaxKernelDims} dims after merging, got index {Shapes.Format(index._shape)} into {Shapes.Format(data._shape)} along dim {dim}");
        int pad = MaxKernelDims - sizes.Length;
        var args = new KernelParameterBuffer().Add(DevicePtr(data)).Add(DevicePtr(index)).Add(DevicePtr(other)).Add((ulong)index.Numel)
            .Add((uint)sizes.Length).Add((uint)(pad + at));
        for (int d = 0; d < MaxKernelDims; d++) args.Add(d < pad ? 1L : sizes[d - pad]);
        for (int d = 0; d < MaxKernelDims; d++) args.Add(d < pad ? 0L : strides[d - pad]);
        Launch($"{op}_{Suffix(data.DType)}", GridFor(index.Numel, ElementwiseThreads), (uint)ElementwiseThreads, 0, args);
    }

    /// <summary>
    /// The index's sizes and the data's (contiguous) strides with neighbouring dims merged where
    /// possible, and the position of <paramref name="dim"/> among them. Dims d and d+1 (neither of
    /// them dim) merge when the index and the data agree in size along d+1: the data is then dense
    /// across them, as the index always is. Size-1 dims other than dim are dropped.
    /// </summary>
    internal static (long[] Sizes, long[] Strides, int Dim) MergeIndexDims(int[] ishape, int[] dshape, int dim)
    {
        int rank = ishape.Length;
        if (rank == 0) return ([1], [0], 0);
        var dstrides = new long[rank];
        long s = 1;
        for (int d = rank - 1; d >= 0; d--) { dstrides[d] = s; s *= dshape[d]; }
        var sizes = new List<long>();
        var strides = new List<long>();
        int at = -1;
        bool lastMergeable = false; // whether the last kept dim may absorb the next one
        for (int d = 0; d < rank; d++)
        {
            if (d == dim)
            {
                at = sizes.Count;
                sizes.Add(ishape[d]);
                strides.Add(dstrides[d]);
                lastMergeable = false;
                continue;
            }
            if (ishape[d] == 1) continue;
            if (lastMergeable && ishape[d] == dshape[d] && strides[^1] == dstrides[d] * dshape[d])
            {
                sizes[^1] *= ishape[d];
                strides[^1] = dstrides[d];
                continue;
            }
            sizes.Add(ishape[d]);
            strides.Add(dstrides[d]);
            lastMergeable = true;
        }
        return (sizes.ToArray(), strides.ToArray(), at);
    }
}
