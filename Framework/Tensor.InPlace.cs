using Framework.Autograd;
using Framework.Backends;

namespace Framework;

// In-place ops (PyTorch's trailing-underscore methods). Every one of them
// - refuses to write into a tensor where several elements share one memory location (after Expand,
//   or any stride-0 view): the result would depend on the order of the writes;
// - bumps the storage version, so a saved tensor it overwrote is caught at backward;
// - joins the graph as PyTorch does when grad mode is on and the tensor or an operand requires grad:
//   the tensor becomes a non-leaf whose grad fn maps the gradient of its new value to its old value
//   and to the operands. In-place on a leaf that requires grad is an error (its old value is what
//   the gradient is for). In-place on a view rewrites the grad fn of the view's base (PyTorch's
//   CopySlices), so the base and the view both see the op.
public sealed partial class Tensor
{
    /// <summary>The tensor that this view was taken from (the root of a chain of views); null for a tensor that is not a view.</summary>
    internal Tensor? ViewBase { get; private set; }

    /// <summary>The storage version when this view was made (or last given a grad fn by an in-place op through it).</summary>
    private int _viewVersion;

    internal void SetViewBase(Tensor source)
    {
        ViewBase = source.ViewBase ?? source;
        _viewVersion = Storage.Version;
    }

    /// <summary>
    /// Throws when this is a view taken before a recorded in-place op changed its base through another
    /// tensor: its grad fn still describes the old value, so using it in a recorded op would give a
    /// silently wrong gradient. (PyTorch regenerates such a view's grad fn; here it must be taken again.)
    /// </summary>
    internal void CheckViewIsCurrent()
    {
        if (ViewBase is null || _storage is not { } s || s.RecordedInPlaceVersion <= _viewVersion) return;
        throw new InvalidOperationException(
            $"a view {Shapes.Format(_shape)} was taken before an in-place op recorded for autograd changed its base {Shapes.Format(ViewBase._shape)}; " +
            "its gradient would miss that op. Take the view again after the in-place op");
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape, converted to this dtype) into this tensor.</summary>
    public Tensor CopyFrom(Tensor src)
    {
        ArgumentNullException.ThrowIfNull(src);
        if (src.Device != Device) throw new ArgumentException($"CopyFrom expected a source on {Device}, got {src.Device}");
        CheckBroadcastsTo(src, "CopyFrom");
        bool record = BeginInPlace("CopyFrom", src);
        using (var view = src.AsStridedAlias(_shape, Shapes.BroadcastStrides(src._shape, src._strides, _shape), src._offset))
            Backend.Copy(view, this);
        BumpVersion();
        if (record)
            FinishInPlace(new InPlaceBackward(InPlaceKind.Copy, "CopyBackwards", src._shape, src.DType, src.RequiresGrad), src);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public Tensor FillInPlace(double value)
    {
        bool record = BeginInPlace("FillInPlace", null);
        Backend.Fill(this, value);
        BumpVersion();
        if (record) FinishInPlace(new InPlaceBackward(InPlaceKind.Fill, "FillBackward", _shape, DType, false), null);
        return this;
    }

    /// <summary>Sets every element to 0 (PyTorch's <c>zero_</c>).</summary>
    public Tensor ZeroInPlace() => FillInPlace(0);

    /// <summary>this += alpha * other, with other broadcast to this shape.</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1) => BinaryInPlace(other, BinaryOp.Add, "AddInPlace", alpha);

    /// <summary>this -= other, with other broadcast to this shape.</summary>
    public Tensor SubInPlace(Tensor other) => BinaryInPlace(other, BinaryOp.Sub, "SubInPlace", 1);

    /// <summary>this *= other, with other broadcast to this shape.</summary>
    public Tensor MulInPlace(Tensor other) => BinaryInPlace(other, BinaryOp.Mul, "MulInPlace", 1);

    /// <summary>this /= other, with other broadcast to this shape.</summary>
    public Tensor DivInPlace(Tensor other) => BinaryInPlace(other, BinaryOp.Div, "DivInPlace", 1);

    /// <summary>this *= value.</summary>
    public Tensor MulInPlace(double value)
    {
        bool record = BeginInPlace("MulInPlace", null);
        Backend.Unary(UnaryOp.MulScalar, this, this, value, 0);
        BumpVersion();
        if (record) FinishInPlace(new InPlaceBackward(InPlaceKind.MulScalar, "MulBackward", _shape, DType, false) { Scalar = value }, null);
        return this;
    }

    /// <summary>this += value.</summary>
    public Tensor AddInPlace(double value)
    {
        bool record = BeginInPlace("AddInPlace", null);
        Backend.Unary(UnaryOp.AddScalar, this, this, value, 0);
        BumpVersion();
        if (record) FinishInPlace(new InPlaceBackward(InPlaceKind.AddScalar, "AddBackward", _shape, DType, false), null);
        return this;
    }

    private Tensor BinaryInPlace(Tensor other, BinaryOp op, string name, double alpha)
    {
        ArgumentNullException.ThrowIfNull(other);
        CheckSameKind(other, name);
        CheckBroadcastsTo(other, name);
        bool record = BeginInPlace(name, other);
        InPlaceBackward? node = null;
        if (record)
        {
            var kind = op switch { BinaryOp.Add => InPlaceKind.Add, BinaryOp.Sub => InPlaceKind.Sub, BinaryOp.Mul => InPlaceKind.Mul, _ => InPlaceKind.Div };
            node = new InPlaceBackward(kind, kind + "Backward", other._shape, other.DType, other.RequiresGrad) { Scalar = alpha };
            using var unscoped = TensorScope.Suppress();
            // Saved before the write: the old value of this tensor (for d/d other of a product), and the
            // operand itself when the write is about to change it (it shares this tensor's storage).
            if (kind is InPlaceKind.Mul or InPlaceKind.Div)
            {
                using var o = ReferenceEquals(other.Storage, Storage) ? other.CopyContiguousNoGrad() : other.Alias();
                node.Other = node.Save(o);
            }
            if (kind == InPlaceKind.Mul && other.RequiresGrad)
            {
                using var old = CopyContiguousNoGrad();
                node.SelfOld = node.Save(old);
            }
        }
        Tensor operand = other;
        if (alpha != 1)
        {
            using var noGrad = NoGrad();
            using var unscoped = TensorScope.Suppress();
            operand = other.Mul(alpha);
        }
        try
        {
            using var view = operand.AsStridedAlias(_shape, Shapes.BroadcastStrides(operand._shape, operand._strides, _shape), operand._offset);
            Backend.Binary(op, this, view, this, 0, 0);
        }
        finally
        {
            if (!ReferenceEquals(operand, other)) operand.Dispose();
        }
        BumpVersion();
        if (node is not null)
        {
            // d/d other of a quotient uses the new value: -g * (this / other) / other.
            if (node.Kind == InPlaceKind.Div && other.RequiresGrad) node.Result = node.Save(this);
            FinishInPlace(node, other);
        }
        return this;
    }

    private void CheckBroadcastsTo(Tensor other, string name)
    {
        var shape = Shapes.Broadcast(_shape, other._shape, name);
        if (!shape.AsSpan().SequenceEqual(_shape))
            throw new ArgumentException($"{name}: shape {Shapes.Format(other._shape)} cannot be broadcast to {Shapes.Format(_shape)}");
    }

    /// <summary>Throws when several elements of this tensor share one memory location (writing would race with itself).</summary>
    internal void CheckWritable(string op)
    {
        if (IsContiguous || !Shapes.HasInternalOverlap(_shape, _strides)) return;
        throw new InvalidOperationException(
            $"{op}: unsupported operation: more than one element of the written-to tensor refers to a single memory location " +
            $"(shape {Shapes.Format(_shape)}, strides [{string.Join(", ", _strides)}], e.g. after Expand). Clone() the tensor before writing to it");
    }

    /// <summary>Checks an in-place op before it writes anything; returns whether it must be recorded.</summary>
    private bool BeginInPlace(string op, Tensor? operand)
    {
        CheckWritable(op);
        if (!GradMode.IsEnabled) return false;
        operand?.CheckViewIsCurrent();
        if (!(RequiresGrad || operand is { RequiresGrad: true })) return false;
        if (IsLeaf && RequiresGrad)
            throw new InvalidOperationException(
                $"{op}: a leaf tensor that requires grad is being used in an in-place operation while grad mode is on; " +
                "use Tensor.NoGrad() (as optimizers do) or an out-of-place op");
        if (ViewBase is { } b)
        {
            if (b.IsLeaf && b.RequiresGrad)
                throw new InvalidOperationException(
                    $"{op}: a view of a leaf tensor that requires grad is being used in an in-place operation while grad mode is on; " +
                    "use Tensor.NoGrad() or an out-of-place op");
            // The base's gradient is rebuilt over its whole dense layout (see CopySlicesBackward).
            if (!b._strides.AsSpan().SequenceEqual(Shapes.ContiguousStrides(b._shape)))
                throw new NotSupportedException(
                    $"{op}: recording an in-place op on a view needs a densely laid out base, got base {Shapes.Format(b._shape)} with strides " +
                    $"[{string.Join(", ", b._strides)}]; apply the op to a Clone() of the view instead");
        }
        return true;
    }

    /// <summary>Records <paramref name="node"/> as the new grad fn of this tensor, or, for a view, of its base (and makes the view a view of the new base).</summary>
    private void FinishInPlace(InPlaceBackward node, Tensor? operand)
    {
        Storage.RecordedInPlaceVersion = Storage.Version;
        if (ViewBase is not { } b)
        {
            if (operand is null) Engine.Record(node, this, this);
            else Engine.Record(node, this, this, operand);
            return;
        }
        _viewVersion = Storage.Version;
        var region = new ViewRegion(b._shape, _shape, _strides, _offset - b._offset);
        var copySlices = new CopySlicesBackward(region, node);
        if (operand is null) Engine.Record(copySlices, b, b);
        else Engine.Record(copySlices, b, b, operand);
        Engine.Record(new AsStridedBackward(region), this, b);
    }

    internal enum InPlaceKind { Add, Sub, Mul, Div, AddScalar, MulScalar, Fill, Copy }

    /// <summary>
    /// Backward of one in-place op, y = op(x, other): returns [dL/dx, dL/dother] for the old value x.
    /// Used directly as the grad fn of a tensor, or inside <see cref="CopySlicesBackward"/> for a view.
    /// </summary>
    internal sealed class InPlaceBackward(InPlaceKind kind, string name, int[] otherShape, DType otherDType, bool otherNeedsGrad) : Node
    {
        public InPlaceKind Kind => kind;

        /// <summary>Whether the op has a tensor operand (a second input); scalar ops and fills have one input.</summary>
        public bool HasOperand => kind is InPlaceKind.Add or InPlaceKind.Sub or InPlaceKind.Mul or InPlaceKind.Div or InPlaceKind.Copy;
        public double Scalar = 1;
        public SavedTensor? Other, SelfOld, Result;

        public override string Name => name;

        internal override Tensor?[] Apply(Tensor grad)
        {
            Tensor? gx, go = null;
            switch (kind)
            {
                case InPlaceKind.Add:
                case InPlaceKind.Sub:
                    gx = grad.Alias();
                    if (otherNeedsGrad)
                    {
                        using var scaled = grad.Mul(kind == InPlaceKind.Sub ? -1.0 : Scalar);
                        go = scaled.SumToShape(otherShape);
                    }
                    break;
                case InPlaceKind.Mul:
                    gx = grad.Mul(Other!.Get());
                    if (otherNeedsGrad)
                    {
                        using var p = grad.Mul(SelfOld!.Get());
                        go = p.SumToShape(otherShape);
                    }
                    break;
                case InPlaceKind.Div:
                    gx = grad.Div(Other!.Get());
                    if (otherNeedsGrad)
                    {
                        // y = x / o: dL/do = -g * y / o.
                        using var q = grad.Mul(Result!.Get());
                        using var r = q.Div(Other!.Get());
                        using var n = r.Neg();
                        go = n.SumToShape(otherShape);
                    }
                    break;
                case InPlaceKind.AddScalar:
                    gx = grad.Alias();
                    break;
                case InPlaceKind.MulScalar:
                    gx = grad.Mul(Scalar);
                    break;
                case InPlaceKind.Fill:
                    gx = grad.ZerosLike();
                    break;
                default: // Copy: the old value is gone; the source gets the gradient, summed over broadcast dims, in its dtype.
                    gx = grad.ZerosLike();
                    if (otherNeedsGrad)
                    {
                        using var summed = grad.SumToShape(otherShape);
                        go = summed.To(otherDType).OwnedBy(summed);
                    }
                    break;
            }
            return HasOperand ? [gx, go] : [gx];
        }
    }

    /// <summary>Where a view lies inside its dense base: the view's shape and strides and its offset from the base's first element.</summary>
    internal sealed record ViewRegion(int[] BaseShape, int[] Shape, long[] Strides, long Offset)
    {
        public Tensor In(Tensor denseBase) => denseBase.AsStridedAlias(Shape, Strides, denseBase._offset + Offset);
    }

    /// <summary>
    /// PyTorch's CopySlices: the grad fn of a base after an in-place op on one of its views. The
    /// gradient of the new base passes unchanged outside the view; inside it, the op's backward maps
    /// it to the old values (written back into the region) and to the operand.
    /// </summary>
    private sealed class CopySlicesBackward(ViewRegion region, InPlaceBackward op) : Node
    {
        public override string Name => "CopySlices";

        internal override Tensor?[] Apply(Tensor grad)
        {
            var full = grad.CopyContiguousNoGrad();
            Tensor?[] inner;
            using (var r = region.In(full))
            using (var gv = r.CopyContiguousNoGrad())
                inner = op.Apply(gv);
            using (var r = region.In(full))
            {
                if (inner[0] is { } gOld) r.Backend.Copy(gOld, r);
                else r.Backend.Fill(r, 0);
            }
            inner[0]?.Dispose();
            return op.HasOperand ? [full, inner[1]] : [full];
        }

        internal override void ReleaseOwned() => op.Release();
    }

    /// <summary>The grad fn of a view after an in-place op went through it: its gradient lands in its region of a zero base gradient.</summary>
    private sealed class AsStridedBackward(ViewRegion region) : Node
    {
        internal override Tensor?[] Apply(Tensor grad)
        {
            var full = Full(region.BaseShape, 0, grad.DType, grad.Device);
            using var r = region.In(full);
            r.Backend.Copy(grad, r);
            return [full];
        }
    }
}
