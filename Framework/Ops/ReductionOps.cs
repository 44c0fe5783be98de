using Framework.Autograd;
using Framework.Backends;

namespace Framework;

// Reductions over all dims or a list of dims, with keepDim. Their backward expands the gradient
// back over the reduced dims.
public sealed partial class Tensor
{
    private (Tensor Y, int[] Dims, int[] KeptShape) ReduceForward(ReduceOp op, int[]? dims, string name, bool unbiased = false, Tensor? indices = null)
    {
        var d = Shapes.ReductionDims(dims, Dim, name);
        var kept = (int[])_shape.Clone();
        foreach (int i in d) kept[i] = 1;
        var y = EmptyLike(kept);
        Backend.Reduce(op, this, d, y, indices, unbiased);
        return (y, d, kept);
    }

    private Tensor DropDims(Tensor y, int[] dims, bool keepDim)
    {
        if (keepDim) return y;
        var shape = new List<int>();
        for (int i = 0; i < Dim; i++) if (Array.IndexOf(dims, i) < 0) shape.Add(_shape[i]);
        var r = new Tensor(y.Storage, [.. shape], Shapes.ContiguousStrides([.. shape]), 0, y.DType, retain: true);
        if (y.GradFn is { } fn) r.SetRequiresGradFromOp(fn);
        y.Dispose();
        return r;
    }

    /// <summary>Sum over all elements, or over <paramref name="dims"/>.</summary>
    public Tensor Sum(int[]? dims = null, bool keepDim = false) => OpRecording.Note(SumCore(dims, keepDim), "Sum", this, null, dims, keepDim);

    private Tensor SumCore(int[]? dims = null, bool keepDim = false)
    {
        var (y, d, kept) = ReduceForward(ReduceOp.Sum, dims, "Sum");
        if (Engine.NeedsGrad(this)) Engine.Record(new ExpandBackward("SumBackward", _shape, kept, 1), y, this);
        return DropDims(y, d, keepDim);
    }

    /// <summary>Sum over one dim.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Mean over all elements, or over <paramref name="dims"/>.</summary>
    public Tensor Mean(int[]? dims = null, bool keepDim = false) => OpRecording.Note(MeanCore(dims, keepDim), "Mean", this, null, dims, keepDim);

    private Tensor MeanCore(int[]? dims = null, bool keepDim = false)
    {
        CheckFloatingPoint("Mean");
        var (y, d, kept) = ReduceForward(ReduceOp.Mean, dims, "Mean");
        if (Engine.NeedsGrad(this))
        {
            long count = Numel / Math.Max(1, y.Numel);
            Engine.Record(new ExpandBackward("MeanBackward", _shape, kept, 1.0 / count), y, this);
        }
        return DropDims(y, d, keepDim);
    }

    /// <summary>Mean over one dim.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Variance over all elements or <paramref name="dims"/>; unbiased divides by n - 1 (PyTorch's default).</summary>
    public Tensor Var(int[]? dims = null, bool unbiased = true, bool keepDim = false)
    {
        CheckFloatingPoint("Var");
        var (y, d, kept) = ReduceForward(ReduceOp.Var, dims, "Var", unbiased);
        if (Engine.NeedsGrad(this))
        {
            long count = Numel / Math.Max(1, y.Numel);
            var node = new VarBackward(d, 2.0 / (count - (unbiased ? 1 : 0)));
            node.X = node.Save(this);
            Engine.Record(node, y, this);
        }
        return DropDims(y, d, keepDim);
    }

    /// <summary>Variance over one dim.</summary>
    public Tensor Var(int dim, bool unbiased = true, bool keepDim = false) => Var([dim], unbiased, keepDim);

    /// <summary>The largest element (NaN if any element is NaN).</summary>
    public Tensor Max()
    {
        using var flat = Reshape(-1);
        return flat.Max(0).Values;
    }

    /// <summary>The smallest element (NaN if any element is NaN).</summary>
    public Tensor Min()
    {
        using var flat = Reshape(-1);
        return flat.Min(0).Values;
    }

    /// <summary>Maximum along <paramref name="dim"/> with the index of its first occurrence; the gradient goes to that index.</summary>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false) => Extreme(ReduceOp.Max, dim, keepDim, "Max");

    /// <summary>Minimum along <paramref name="dim"/> with the index of its first occurrence.</summary>
    public (Tensor Values, Tensor Indices) Min(int dim, bool keepDim = false) => Extreme(ReduceOp.Min, dim, keepDim, "Min");

    /// <summary>Index of the maximum along <paramref name="dim"/> (int64).</summary>
    public Tensor ArgMax(int dim, bool keepDim = false)
    {
        var (values, indices) = Extreme(ReduceOp.Max, dim, keepDim, "ArgMax", record: false);
        values.Dispose();
        return indices;
    }

    private (Tensor, Tensor) Extreme(ReduceOp op, int dim, bool keepDim, string name, bool record = true)
    {
        int d = Shapes.NormalizeDim(dim, Dim, name);
        if (Dim > 0 && _shape[d] == 0)
            throw new ArgumentException($"{name}: cannot reduce over an empty dim {d} of shape {Shapes.Format(_shape)}");
        var kept = (int[])_shape.Clone();
        if (Dim > 0) kept[d] = 1;
        var indices = Empty(kept, DType.Int64, Device);
        var (y, dims, _) = ReduceForward(op, Dim == 0 ? null : [d], name, indices: indices);
        if (record && Engine.NeedsGrad(this))
        {
            var node = new IndexBackward(name + "Backward", _shape, Dim == 0 ? 0 : d);
            node.Indices = node.Save(indices);
            Engine.Record(node, y, this);
        }
        return (DropDims(y, dims, keepDim), DropDims(indices, dims, keepDim));
    }

    /// <summary>Gradient of a reduction that every element contributes to with weight <c>scale</c>.</summary>
    private sealed class ExpandBackward(string name, int[] inputShape, int[] keptShape, double scale) : Node
    {
        public override string Name => name;

        internal override Tensor?[] Apply(Tensor grad)
        {
            using var g = grad.Reshape(keptShape);
            using var scaled = scale == 1 ? g.Alias() : g.Mul(scale);
            return [scaled.Expand(inputShape)];
        }
    }

    private sealed class VarBackward(int[] dims, double scale) : Node
    {
        public SavedTensor? X;

        internal override Tensor?[] Apply(Tensor grad)
        {
            // d var / dx = 2 (x - mean) / (n - correction)
            var x = X!.Get();
            using var mean = x.Mean(dims, keepDim: true);
            using var centered = x.Sub(mean);
            using var g = grad.Reshape(mean._shape);
            using var gs = g.Mul(scale);
            return [centered.Mul(gs)];
        }
    }

    private sealed class IndexBackward(string name, int[] inputShape, int dim) : Node
    {
        public SavedTensor? Indices;
        public override string Name => name;

        internal override Tensor?[] Apply(Tensor grad)
        {
            // One-hot of the saved indices along dim (arange == index), times the expanded gradient.
            var idx = Indices!.Get();
            int rank = inputShape.Length;
            if (rank == 0) return [grad.Reshape([])];
            var positionsShape = new int[rank];
            Array.Fill(positionsShape, 1);
            positionsShape[dim] = inputShape[dim];
            using var arange = Arange(0, inputShape[dim], 1, DType.Int64, grad.Device);
            using var positions = arange.Reshape(positionsShape);
            using var hit = positions.Eq(idx);
            using var mask = hit.To(grad.DType);
            using var g = grad.Reshape(idx._shape);
            return [mask.Mul(g)];
        }
    }
}
