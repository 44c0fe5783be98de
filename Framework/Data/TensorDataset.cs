namespace Framework.Data;

/// <summary>
/// Samples held as tensors that share their first dimension (PyTorch's <c>TensorDataset</c>):
/// sample i is row i of every tensor, e.g. images [N, 1, H, W] and labels [N].
/// </summary>
/// <remarks>The dataset keeps references to the tensors; the caller still owns (and disposes) them.</remarks>
public sealed class TensorDataset
{
    private readonly Tensor[] _tensors;

    /// <summary>Creates the dataset; every tensor needs at least one dimension and the same size of dimension 0.</summary>
    public TensorDataset(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0) throw new ArgumentException("TensorDataset needs at least one tensor");
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (t.Dim == 0) throw new ArgumentException("TensorDataset tensors need a sample dimension, got a 0-dimensional tensor");
            if (t.Size(0) != tensors[0].Size(0))
                throw new ArgumentException($"TensorDataset tensors must have the same number of samples in dimension 0, got {string.Join(" and ", tensors.Select(x => x.Size(0)))}");
        }
        _tensors = tensors;
    }

    /// <summary>Number of samples.</summary>
    public int Count => _tensors[0].Size(0);

    /// <summary>The underlying tensors.</summary>
    public IReadOnlyList<Tensor> Tensors => _tensors;

    /// <summary>
    /// The samples at <paramref name="indices"/>, gathered into one new contiguous tensor per
    /// dataset tensor (the batch), on the dataset's device. Not recorded for autograd.
    /// </summary>
    public Tensor[] Gather(ReadOnlySpan<int> indices)
    {
        foreach (int i in indices)
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"sample index {i} is outside the dataset's {Count} samples");
        var result = new Tensor[_tensors.Length];
        for (int k = 0; k < _tensors.Length; k++) result[k] = GatherRows(_tensors[k], indices);
        return result;
    }

    private static unsafe Tensor GatherRows(Tensor t, ReadOnlySpan<int> indices)
    {
        var shape = t.Shape;
        shape[0] = indices.Length;
        using var noGrad = Tensor.NoGrad();
        if (t.Device == Device.Cpu)
        {
            // Row copies straight between host buffers: a batch costs one memcpy per sample.
            using var src = t.ContiguousOwned();
            var dst = Tensor.Empty(shape, t.DType, Device.Cpu);
            long rowBytes = (t.Numel / Math.Max(t.Size(0), 1)) * t.DType.ElementSize();
            byte* s = (byte*)Backends.Cpu.CpuBackend.RawPtr(src), d = (byte*)Backends.Cpu.CpuBackend.RawPtr(dst);
            for (int r = 0; r < indices.Length; r++) Buffer.MemoryCopy(s + indices[r] * rowBytes, d + r * rowBytes, rowBytes, rowBytes);
            return dst;
        }
        // Other devices: stack row views (one device copy per sample; fine for batching, and it keeps the data on the device).
        var rows = new List<Tensor>(indices.Length);
        foreach (int i in indices) rows.Add(t.Select(0, i));
        var stacked = Tensor.Stack(rows);
        foreach (var r in rows) r.Dispose();
        return stacked;
    }
}
