using Framework.Autograd;

namespace Framework;

// Views share storage with their base. Each records a node whose backward maps the gradient back
// to the base's shape: the inverse reshape or permutation, a sum over expanded dims, or a zero
// tensor with the gradient copied into the selected region.
public sealed partial class Tensor
{
    private Tensor MakeView(int[] shape, long[] strides, long offset, Func<Node>? backward)
    {
        var v = new Tensor(Storage, shape, strides, offset, DType, retain: true);
        v.SetViewBase(this);
        if (backward is not null && Engine.NeedsGrad(this)) Engine.Record(backward(), v, this);
        return v;
    }

    /// <summary>A view with a new shape (one entry may be -1); throws when the strides do not allow a view (use <see cref="Reshape"/>).</summary>
    public Tensor View(params int[] shape)
    {
        var target = InferShape(shape, "View");
        var strides = ViewStrides(target) ?? throw new InvalidOperationException(
            $"View: size {Shapes.Format(target)} is not compatible with the input tensor's size {Shapes.Format(_shape)} and strides " +
            $"[{string.Join(", ", _strides)}]; at least one dimension spans two contiguous subspaces. Use Reshape instead");
        var inputShape = _shape;
        return MakeView(target, strides, _offset, () => new ReshapeBackward(inputShape));
    }

    /// <summary>A tensor with a new shape (one entry may be -1): a view when possible, otherwise a copy.</summary>
    public Tensor Reshape(params int[] shape) => OpRecording.Note(ReshapeCore(shape), "Reshape", this, null, shape);

    private Tensor ReshapeCore(params int[] shape)
    {
        var target = InferShape(shape, "Reshape");
        var strides = ViewStrides(target);
        var inputShape = _shape;
        if (strides is not null) return MakeView(target, strides, _offset, () => new ReshapeBackward(inputShape));
        using var unscoped = TensorScope.Suppress();
        using var copy = CopyContiguousNoGrad();
        var y = new Tensor(copy.Storage, target, Shapes.ContiguousStrides(target), 0, DType, retain: true);
        if (Engine.NeedsGrad(this)) Engine.Record(new ReshapeBackward(inputShape), y, this);
        return y;
    }

    /// <summary>Flattens dims <paramref name="startDim"/>..<paramref name="endDim"/> into one.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Dim == 0) return Reshape(1);
        int s = Shapes.NormalizeDim(startDim, Dim, "Flatten"), e = Shapes.NormalizeDim(endDim, Dim, "Flatten");
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim}");
        var shape = new List<int>();
        for (int i = 0; i < s; i++) shape.Add(_shape[i]);
        long merged = 1;
        for (int i = s; i <= e; i++) merged *= _shape[i]; // at most Numel <= MaxElements: no overflow
        shape.Add(Shapes.ToSize(merged, "Flatten", $"the merged size of dims {s}..{e} of {Shapes.Format(_shape)}"));
        for (int i = e + 1; i < Dim; i++) shape.Add(_shape[i]);
        return Reshape([.. shape]);
    }

    private int[] InferShape(int[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var target = (int[])shape.Clone();
        int infer = -1;
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: only one dimension can be inferred (-1), got {Shapes.Format(shape)}");
                infer = i;
            }
            else if (target[i] < 0) throw new ArgumentException($"{op}: invalid shape dimension {target[i]} in {Shapes.Format(shape)}");
        }
        // Checked product of the known sizes (throws beyond MaxElements, so it cannot wrap).
        var knownSizes = (int[])target.Clone();
        if (infer >= 0) knownSizes[infer] = 1;
        long known = Shapes.Numel(knownSizes, op);
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"{op}: shape {Shapes.Format(shape)} is invalid for input of size {Numel}");
            target[infer] = Shapes.ToSize(Numel / known, op, $"the inferred size (-1) in {Shapes.Format(shape)}");
        }
        else if (known != Numel)
            throw new ArgumentException($"{op}: shape {Shapes.Format(shape)} is invalid for input of size {Numel}");
        return target;
    }

    /// <summary>Strides that present this tensor's elements in <paramref name="target"/> shape without a copy, or null.</summary>
    private long[]? ViewStrides(int[] target)
    {
        if (IsContiguous) return Shapes.ContiguousStrides(target);
        if (Numel == 0) return Shapes.ContiguousStrides(target);
        // Walk chunks of old dims that are contiguous among themselves, matching them to runs of new dims
        // (the algorithm of PyTorch's computeStride).
        var newStrides = new long[target.Length];
        int viewD = target.Length - 1;
        long chunkBase = _strides.Length > 0 ? _strides[^1] : 1;
        long tensorNumel = 1, viewNumel = 1;
        for (int d = Dim - 1; d >= 0; d--)
        {
            tensorNumel *= _shape[d];
            if (d == 0 || (_shape[d - 1] != 1 && _strides[d - 1] != tensorNumel * chunkBase))
            {
                while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] == 1))
                {
                    newStrides[viewD] = viewNumel * chunkBase;
                    viewNumel *= target[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0)
                {
                    chunkBase = _strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? newStrides : null;
    }

    /// <summary>Reorders dims: result dim i is input dim <paramref name="dims"/>[i].</summary>
    public Tensor Permute(params int[] dims) => OpRecording.Note(PermuteCore(dims), "Permute", this, null, dims);

    private Tensor PermuteCore(params int[] dims)
    {
        if (dims.Length != Dim)
            throw new ArgumentException($"Permute expected {Dim} dims for a {Dim}D tensor, got {dims.Length}: [{string.Join(", ", dims)}]");
        var seen = new bool[Dim];
        var shape = new int[Dim];
        var strides = new long[Dim];
        var norm = new int[Dim];
        for (int i = 0; i < Dim; i++)
        {
            int d = Shapes.NormalizeDim(dims[i], Dim, "Permute");
            if (seen[d]) throw new ArgumentException($"Permute: dim {d} repeats in [{string.Join(", ", dims)}]");
            seen[d] = true;
            norm[i] = d;
            shape[i] = _shape[d];
            strides[i] = _strides[d];
        }
        return MakeView(shape, strides, _offset, () => new PermuteBackward(norm));
    }

    /// <summary>Swaps two dims.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int a = Shapes.NormalizeDim(dim0, Dim, "Transpose"), b = Shapes.NormalizeDim(dim1, Dim, "Transpose");
        var perm = new int[Dim];
        for (int i = 0; i < Dim; i++) perm[i] = i;
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>The transpose of a 2-D tensor (PyTorch's <c>.T</c> for matrices).</summary>
    public Tensor T
    {
        get
        {
            if (Dim != 2) throw new InvalidOperationException($"T expected a 2D tensor, got {Dim}D with shape {Shapes.Format(_shape)}; use Permute or Transpose");
            return Transpose(0, 1);
        }
    }

    /// <summary>Removes all dims of size 1, or only <paramref name="dim"/> when given (and of size 1).</summary>
    public Tensor Squeeze(int? dim = null)
    {
        var shape = new List<int>();
        var strides = new List<long>();
        int only = dim is { } d0 ? Shapes.NormalizeDim(d0, Dim, "Squeeze") : -1;
        for (int i = 0; i < Dim; i++)
        {
            bool drop = _shape[i] == 1 && (only < 0 || only == i);
            if (!drop) { shape.Add(_shape[i]); strides.Add(_strides[i]); }
        }
        var inputShape = _shape;
        return MakeView([.. shape], [.. strides], _offset, () => new ReshapeBackward(inputShape));
    }

    /// <summary>Inserts a dim of size 1 at <paramref name="dim"/> (which may equal the rank).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = Shapes.NormalizeDim(dim, Dim + 1, "Unsqueeze");
        var shape = new List<int>(_shape);
        var strides = new List<long>(_strides);
        long stride = d < Dim ? _strides[d] * _shape[d] : 1;
        shape.Insert(d, 1);
        strides.Insert(d, stride);
        var inputShape = _shape;
        return MakeView([.. shape], [.. strides], _offset, () => new ReshapeBackward(inputShape));
    }

    /// <summary>A view broadcast to <paramref name="shape"/> (-1 keeps a dim); expanded dims get stride 0 and share memory.</summary>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < Dim)
            throw new ArgumentException($"Expand: the number of sizes ({shape.Length}) must be at least the tensor's rank ({Dim}); got {Shapes.Format(shape)} for {Shapes.Format(_shape)}");
        var target = (int[])shape.Clone();
        int lead = shape.Length - Dim;
        for (int i = 0; i < target.Length; i++)
        {
            int j = i - lead;
            if (target[i] == -1)
            {
                if (j < 0) throw new ArgumentException($"Expand: -1 is not allowed for a new leading dim, got {Shapes.Format(shape)}");
                target[i] = _shape[j];
            }
            else if (target[i] < 0)
                throw new ArgumentException($"Expand: sizes must be non-negative (or -1 to keep a dim), got {target[i]} at dim {i} in {Shapes.Format(shape)}");
            else if (j >= 0 && _shape[j] != 1 && _shape[j] != target[i])
                throw new ArgumentException($"Expand: size {_shape[j]} of dim {j} must match {target[i]} or be 1 (expanding {Shapes.Format(_shape)} to {Shapes.Format(shape)})");
        }
        Shapes.Numel(target, "Expand"); // an expanded view may not claim more than MaxElements elements either
        var inputShape = _shape;
        return MakeView(target, Shapes.BroadcastStrides(_shape, _strides, target), _offset, () => new SumToShapeBackward(inputShape));
    }

    /// <summary>Expands to <paramref name="other"/>'s shape.</summary>
    public Tensor ExpandAs(Tensor other) => Expand(other._shape);

    /// <summary>Elements <paramref name="start"/>..start+length-1 along <paramref name="dim"/>.</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = Shapes.NormalizeDim(dim, Dim, "Narrow");
        // In long: start + length must not wrap around for large arguments.
        if (start < 0 || length < 0 || (long)start + length > _shape[d])
            throw new ArgumentOutOfRangeException(nameof(start),
                $"Narrow: range [{start}, {(long)start + length}) (start {start}, length {length}) is outside dim {d} of size {_shape[d]}; expected start >= 0, length >= 0 and start + length <= {_shape[d]}");
        return Slice(d, start, start + length, 1, "Narrow");
    }

    /// <summary>Python's <c>x[..., start:end:step, ...]</c> along <paramref name="dim"/>; negative start/end count from the end.</summary>
    public Tensor Slice(int dim, int start, int end, int step = 1) => Slice(dim, start, end, step, "Slice");

    private Tensor Slice(int dim, int start, int end, int step, string op)
    {
        int d = Shapes.NormalizeDim(dim, Dim, op);
        int size = _shape[d];
        if (step <= 0) throw new ArgumentException($"{op} expected a positive step, got {step}");
        if (op == "Narrow")
        {
            if (start < 0 || end > size || start > end)
                throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: range [{start}, {end}) is outside dim {d} of size {size}");
        }
        else
        {
            if (start < 0) start += size;
            if (end < 0) end += size;
            start = Math.Clamp(start, 0, size);
            end = Math.Clamp(end, start, size);
        }
        var shape = (int[])_shape.Clone();
        var strides = (long[])_strides.Clone();
        // In long: end - start + step - 1 wraps in int for a large step.
        shape[d] = (int)(((long)end - start + step - 1) / step);
        // The stride of a dim with at most one element never addresses anything, and stride * step may
        // not fit in a long for a huge step; keep the old stride there.
        strides[d] = shape[d] <= 1 ? _strides[d] : checked(_strides[d] * step);
        var inputShape = _shape;
        int s0 = start;
        return MakeView(shape, strides, _offset + start * _strides[d], () => new SliceBackward(inputShape, d, s0, step));
    }

    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, with that dim removed.</summary>
    public Tensor Select(int dim, int index)
    {
        int d = Shapes.NormalizeDim(dim, Dim, "Select");
        int size = _shape[d];
        if (index < -size || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"Select: index {index} is out of bounds for dim {d} with size {size}");
        if (index < 0) index += size;
        var shape = new List<int>(_shape);
        var strides = new List<long>(_strides);
        shape.RemoveAt(d);
        strides.RemoveAt(d);
        var inputShape = _shape;
        int at = index;
        return MakeView([.. shape], [.. strides], _offset + index * _strides[d], () => new SelectBackward(inputShape, d, at));
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along dim 0.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[int index] => Select(0, index);

    internal sealed class ReshapeBackward(int[] inputShape) : Node
    {
        internal override Tensor?[] Apply(Tensor grad) => [grad.Reshape(inputShape).OwnedBy(grad)];
    }

    private sealed class PermuteBackward(int[] dims) : Node
    {
        internal override Tensor?[] Apply(Tensor grad)
        {
            var inverse = new int[dims.Length];
            for (int i = 0; i < dims.Length; i++) inverse[dims[i]] = i;
            return [grad.Permute(inverse)];
        }
    }

    internal sealed class SumToShapeBackward(int[] inputShape) : Node
    {
        public override string Name => "ExpandBackward";
        internal override Tensor?[] Apply(Tensor grad) => [grad.SumToShape(inputShape)];
    }

    private sealed class SliceBackward(int[] inputShape, int dim, int start, int step) : Node
    {
        internal override Tensor?[] Apply(Tensor grad)
        {
            var full = Full(inputShape, 0, grad.DType, grad.Device);
            using var region = full.Slice(dim, start, start + (grad._shape[dim] - 1) * step + 1, step);
            region.Backend.Copy(grad, region);
            return [full];
        }
    }

    private sealed class SelectBackward(int[] inputShape, int dim, int index) : Node
    {
        internal override Tensor?[] Apply(Tensor grad)
        {
            var full = Full(inputShape, 0, grad.DType, grad.Device);
            using var region = full.Narrow(dim, index, 1);
            using var g = grad.Unsqueeze(dim);
            region.Backend.Copy(g, region);
            return [full];
        }
    }

    /// <summary>Returns a distinct tensor object: this, unless it is <paramref name="source"/> itself, then an alias.</summary>
    internal Tensor OwnedBy(Tensor source) => ReferenceEquals(this, source) ? Alias() : this;
}
