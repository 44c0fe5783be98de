using Framework.Autograd;

namespace Framework;

// Gather and scatter-add along one dim (PyTorch's gather / scatter_add). They are each other's
// adjoint: the gradient of a gather scatters back into zeros, the gradient of a scatter-add's source
// gathers. Index values are checked on the host before any work, so a bad label fails with its value.
public sealed partial class Tensor
{
    /// <summary>
    /// y[i..., j, k...] = this[i..., index[i..., j, k...], k...] along <paramref name="dim"/> (PyTorch's
    /// <c>gather</c>). index is int64 with this tensor's rank and, in every other dim, at most its size;
    /// y has index's shape. Differentiable with respect to this tensor.
    /// </summary>
    public Tensor Gather(int dim, Tensor index)
    {
        int d = CheckIndexArgs(dim, index, "Gather");
        using var x = ContiguousOwned();
        using var idx = index.ContiguousOwned();
        var y = EmptyLike(index._shape);
        if (y.Numel > 0) Backend.Gather(x, d, idx, y);
        if (!Engine.NeedsGrad(this)) return y;
        var node = new GatherBackward(_shape, d);
        node.Index = node.Save(idx);
        return Engine.Record(node, y, this);
    }

    /// <summary>
    /// A copy of this tensor with <paramref name="src"/> added at the positions <paramref name="index"/>
    /// names along <paramref name="dim"/> (PyTorch's out-of-place <c>scatter_add</c>); repeated indices
    /// accumulate. src has index's shape. Differentiable with respect to this tensor and src.
    /// </summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src)
    {
        ArgumentNullException.ThrowIfNull(src);
        CheckSameKind(src, "ScatterAdd");
        if (!src._shape.AsSpan().SequenceEqual(index._shape))
            throw new ArgumentException($"ScatterAdd expected src with index's shape {Shapes.Format(index._shape)}, got {Shapes.Format(src._shape)}");
        int d = CheckIndexArgs(dim, index, "ScatterAdd");
        var y = CopyContiguousNoGrad();
        using var idx = index.ContiguousOwned();
        using (var s = src.ContiguousOwned())
            if (s.Numel > 0) Backend.ScatterAdd(y, d, idx, s);
        if (!Engine.NeedsGrad(this, src)) return y;
        var node = new ScatterAddBackward(d);
        if (src.RequiresGrad) node.Index = node.Save(idx);
        return Engine.Record(node, y, this, src);
    }

    /// <summary>Validates dim, index dtype/rank/sizes and every index value; returns the normalised dim.</summary>
    private int CheckIndexArgs(int dim, Tensor index, string op)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.DType != DType.Int64)
            throw new ArgumentException($"{op} expected an int64 index, got {index.DType.Name()}");
        if (index.Device != Device)
            throw new ArgumentException($"{op} expected the index on {Device}, got {index.Device}");
        if (index.Dim != Dim)
            throw new ArgumentException($"{op} expected an index with the same number of dims as the input ({Dim}), got {index.Dim}D index {Shapes.Format(index._shape)}");
        int d = Shapes.NormalizeDim(dim, Dim, op);
        for (int i = 0; i < Dim; i++)
            if (i != d && index._shape[i] > _shape[i])
                throw new ArgumentException(
                    $"{op}: index size {index._shape[i]} in dim {i} exceeds the input's size {_shape[i]} (index {Shapes.Format(index._shape)}, input {Shapes.Format(_shape)})");
        if (Dim > 0 && _shape[d] == 0 && index.Numel > 0)
            throw new ArgumentException($"{op}: cannot index the empty dim {d} of {Shapes.Format(_shape)}");
        int size = Dim == 0 ? 1 : _shape[d];
        foreach (long v in index.ToArray<long>())
            if (v < 0 || v >= size)
                throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {v} is out of bounds for dim {d} with size {size}");
        return d;
    }

    private sealed class GatherBackward(int[] inputShape, int dim) : Node
    {
        public SavedTensor? Index;

        internal override Tensor?[] Apply(Tensor grad)
        {
            var idx = Index!.Get();
            var dx = Full(inputShape, 0, grad.DType, grad.Device);
            using var g = grad.ContiguousOwned();
            if (g.Numel > 0) grad.Backend.ScatterAdd(dx, dim, idx, g);
            return [dx];
        }
    }

    private sealed class ScatterAddBackward(int dim) : Node
    {
        public SavedTensor? Index;

        internal override Tensor?[] Apply(Tensor grad)
        {
            Tensor? gs = null;
            if (Index is not null)
            {
                var idx = Index.Get();
                using var g = grad.ContiguousOwned();
                gs = grad.EmptyLike(idx._shape);
                if (gs.Numel > 0) grad.Backend.Gather(g, dim, idx, gs);
            }
            return [grad.Alias(), gs];
        }
    }
}
