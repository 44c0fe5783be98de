using Framework.Autograd;

namespace Framework;

public sealed partial class Tensor
{
    /// <summary>Concatenates along <paramref name="dim"/>; all other dims must match.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0) => OpRecording.NoteMany(CatCore(tensors, dim), "Cat", tensors, dim);

    private static Tensor CatCore(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Cat expected a non-empty list of tensors");
        var first = tensors[0];
        int d = Shapes.NormalizeDim(dim, first.Dim, "Cat");
        long total = 0; // in long: the sum of many int sizes can pass int.MaxValue
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            first.CheckSameKind(t, "Cat");
            if (t.Dim != first.Dim)
                throw new ArgumentException($"Cat: tensor {i} has {t.Dim} dims, expected {first.Dim} like tensor 0 (shapes {Shapes.Format(first._shape)} and {Shapes.Format(t._shape)})");
            for (int j = 0; j < first.Dim; j++)
                if (j != d && t._shape[j] != first._shape[j])
                    throw new ArgumentException(
                        $"Cat: sizes must match except in dim {d}; tensor {i} has shape {Shapes.Format(t._shape)}, tensor 0 has {Shapes.Format(first._shape)}");
            total += t._shape[d];
        }
        var shape = (int[])first._shape.Clone();
        shape[d] = Shapes.ToSize(total, "Cat", $"the concatenated size of dim {d}");
        var y = first.EmptyLike(shape);
        int offset = 0;
        var sizes = new int[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            sizes[i] = t._shape[d];
            var strides = y._strides;
            var regionShape = (int[])shape.Clone();
            regionShape[d] = sizes[i];
            using var region = y.AsStridedAlias(regionShape, strides, offset * y._strides[d]);
            if (t.Numel > 0) y.Backend.Copy(t, region);
            offset += sizes[i];
        }
        return Engine.NeedsGrad(tensors) ? Engine.Record(new CatBackward(d, sizes), y, tensors) : y;
    }

    /// <summary>Stacks equally shaped tensors along a new dim <paramref name="dim"/>.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Stack expected a non-empty list of tensors");
        for (int i = 1; i < tensors.Count; i++)
            if (!tensors[i]._shape.AsSpan().SequenceEqual(tensors[0]._shape))
                throw new ArgumentException($"Stack expects each tensor to be equal size, but got {Shapes.Format(tensors[0]._shape)} at entry 0 and {Shapes.Format(tensors[i]._shape)} at entry {i}");
        int d = Shapes.NormalizeDim(dim, tensors[0].Dim + 1, "Stack");
        var expanded = new Tensor[tensors.Count];
        try
        {
            for (int i = 0; i < expanded.Length; i++) expanded[i] = tensors[i].Unsqueeze(d);
            return Cat(expanded, d);
        }
        finally
        {
            foreach (var t in expanded) t?.Dispose();
        }
    }

    private sealed class CatBackward(int dim, int[] sizes) : Node
    {
        internal override Tensor?[] Apply(Tensor grad)
        {
            var result = new Tensor?[sizes.Length];
            int offset = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (!Edges[i].IsEmpty) result[i] = grad.Narrow(dim, offset, sizes[i]);
                offset += sizes[i];
            }
            return result;
        }
    }
}
