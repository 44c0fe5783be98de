using Framework.Autograd;
using Framework.Backends;

namespace Framework;

// Elementwise functions of two tensors with NumPy broadcasting. Gradients of broadcast inputs are
// summed back to the input's shape (SumToShape).
public sealed partial class Tensor
{
    internal static Tensor BinaryForward(BinaryOp op, Tensor a, Tensor b, string name, double p = 0, double q = 0)
    {
        a.CheckSameKind(b, name);
        var shape = Shapes.Broadcast(a._shape, b._shape, name);
        var y = a.EmptyLike(shape);
        var va = a.BroadcastTo(shape);
        var vb = b.BroadcastTo(shape);
        try { a.Backend.Binary(op, va, vb, y, p, q); }
        finally
        {
            if (!ReferenceEquals(va, a)) va.Dispose();
            if (!ReferenceEquals(vb, b)) vb.Dispose();
        }
        return y;
    }

    /// <summary>This tensor if it already has <paramref name="shape"/>, else an unscoped stride-0 alias (no autograd).</summary>
    internal Tensor BroadcastTo(int[] shape) =>
        _shape.AsSpan().SequenceEqual(shape) ? this : AsStridedAlias(shape, Shapes.BroadcastStrides(_shape, _strides, shape), _offset);

    /// <summary>Sums a gradient over broadcast dims so it matches <paramref name="shape"/>. Always returns a new object.</summary>
    internal Tensor SumToShape(int[] shape)
    {
        if (_shape.AsSpan().SequenceEqual(shape)) return Alias();
        int lead = Dim - shape.Length;
        var dims = new List<int>();
        for (int i = 0; i < Dim; i++)
            if (i < lead || (shape[i - lead] == 1 && _shape[i] != 1)) dims.Add(i);
        using var summed = dims.Count == 0 ? Alias() : Sum([.. dims], keepDim: true);
        return summed.Reshape(shape).OwnedBy(summed);
    }

    /// <summary>a + b</summary>
    public Tensor Add(Tensor other) => OpRecording.Note(AddCore(other), "Add", this, other);

    private Tensor AddCore(Tensor other)
    {
        var y = BinaryForward(BinaryOp.Add, this, other, "Add");
        return Engine.NeedsGrad(this, other) ? Engine.Record(new AddBackward(_shape, other._shape, -1), y, this, other) : y;
    }

    /// <summary>
    /// a + b written into <paramref name="out"/> (PyTorch's <c>out=</c>): no allocation, so a hot loop
    /// avoids fresh pages. Not recorded for autograd; refuses inputs that require grad while grad mode is on.
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b, Tensor @out)
    {
        if (Engine.NeedsGrad(a, b) || Engine.NeedsGrad(@out))
            throw new InvalidOperationException("Add(a, b, out) does not record gradients; call it under Tensor.NoGrad() or use a + b");
        a.CheckSameKind(b, "Add");
        a.CheckSameKind(@out, "Add");
        @out.CheckWritable("Add(out)");
        var shape = Shapes.Broadcast(a._shape, b._shape, "Add");
        if (!shape.AsSpan().SequenceEqual(@out._shape))
            throw new ArgumentException($"Add: out has shape {Shapes.Format(@out._shape)}, expected the broadcast shape {Shapes.Format(shape)}");
        using (var va = a.BroadcastTo(shape).OwnedBy(a))
        using (var vb = b.BroadcastTo(shape).OwnedBy(b))
            a.Backend.Binary(BinaryOp.Add, va, vb, @out, 0, 0);
        @out.BumpVersion();
        return @out;
    }

    /// <summary>a - b</summary>
    public Tensor Sub(Tensor other) => OpRecording.Note(SubCore(other), "Sub", this, other);

    private Tensor SubCore(Tensor other)
    {
        var y = BinaryForward(BinaryOp.Sub, this, other, "Sub");
        return Engine.NeedsGrad(this, other) ? Engine.Record(new AddBackward(_shape, other._shape, 1), y, this, other) : y;
    }

    /// <summary>a * b</summary>
    public Tensor Mul(Tensor other) => OpRecording.Note(MulCore(other), "Mul", this, other);

    private Tensor MulCore(Tensor other)
    {
        var y = BinaryForward(BinaryOp.Mul, this, other, "Mul");
        if (!Engine.NeedsGrad(this, other)) return y;
        var node = new MulBackward(_shape, other._shape);
        // Each side's gradient needs the other side only.
        if (RequiresGrad) node.B = node.Save(other);
        if (other.RequiresGrad) node.A = node.Save(this);
        return Engine.Record(node, y, this, other);
    }

    /// <summary>a / b</summary>
    public Tensor Div(Tensor other) => OpRecording.Note(DivCore(other), "Div", this, other);

    private Tensor DivCore(Tensor other)
    {
        CheckFloatingPoint("Div");
        var y = BinaryForward(BinaryOp.Div, this, other, "Div");
        if (!Engine.NeedsGrad(this, other)) return y;
        var node = new DivBackward(_shape, other._shape);
        node.B = node.Save(other);
        if (other.RequiresGrad) node.A = node.Save(this);
        return Engine.Record(node, y, this, other);
    }

    /// <summary>Elementwise maximum; on ties each input gets half the gradient (as PyTorch).</summary>
    public Tensor Maximum(Tensor other) => MinMax(other, BinaryOp.Maximum, "Maximum");

    /// <summary>Elementwise minimum; on ties each input gets half the gradient (as PyTorch).</summary>
    public Tensor Minimum(Tensor other) => MinMax(other, BinaryOp.Minimum, "Minimum");

    private Tensor MinMax(Tensor other, BinaryOp op, string name)
    {
        var y = BinaryForward(op, this, other, name);
        if (!Engine.NeedsGrad(this, other)) return y;
        var node = new MinMaxBackward(name + "Backward", op == BinaryOp.Maximum ? BinaryOp.Gt : BinaryOp.Lt, _shape, other._shape);
        node.A = node.Save(this);
        node.B = node.Save(other);
        return Engine.Record(node, y, this, other);
    }

    /// <summary>a == b as 1/0 in the inputs' dtype (no bool dtype; never requires grad).</summary>
    public Tensor Eq(Tensor other) => BinaryForward(BinaryOp.Eq, this, other, "Eq");
    /// <summary>a != b as 1/0.</summary>
    public Tensor Ne(Tensor other) => BinaryForward(BinaryOp.Ne, this, other, "Ne");
    /// <summary>a &lt; b as 1/0.</summary>
    public Tensor Lt(Tensor other) => BinaryForward(BinaryOp.Lt, this, other, "Lt");
    /// <summary>a &lt;= b as 1/0.</summary>
    public Tensor Le(Tensor other) => BinaryForward(BinaryOp.Le, this, other, "Le");
    /// <summary>a &gt; b as 1/0.</summary>
    public Tensor Gt(Tensor other) => BinaryForward(BinaryOp.Gt, this, other, "Gt");
    /// <summary>a &gt;= b as 1/0.</summary>
    public Tensor Ge(Tensor other) => BinaryForward(BinaryOp.Ge, this, other, "Ge");

    /// <summary>Compares with a scalar: a == value as 1/0.</summary>
    public Tensor Eq(double value) => CompareScalar(BinaryOp.Eq, value, "Eq");
    /// <summary>a != value as 1/0.</summary>
    public Tensor Ne(double value) => CompareScalar(BinaryOp.Ne, value, "Ne");
    /// <summary>a &lt; value as 1/0.</summary>
    public Tensor Lt(double value) => CompareScalar(BinaryOp.Lt, value, "Lt");
    /// <summary>a &lt;= value as 1/0.</summary>
    public Tensor Le(double value) => CompareScalar(BinaryOp.Le, value, "Le");
    /// <summary>a &gt; value as 1/0.</summary>
    public Tensor Gt(double value) => CompareScalar(BinaryOp.Gt, value, "Gt");
    /// <summary>a &gt;= value as 1/0.</summary>
    public Tensor Ge(double value) => CompareScalar(BinaryOp.Ge, value, "Ge");

    private Tensor CompareScalar(BinaryOp op, double value, string name)
    {
        using var s = Full([], value, DType, Device);
        return BinaryForward(op, this, s, name);
    }

    /// <summary>Elementwise <c>condition != 0 ? a : b</c> with broadcasting; gradients flow to a and b.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        a.CheckSameKind(b, "Where");
        if (condition.Device != a.Device) throw new ArgumentException($"Where expected the condition on {a.Device}, got {condition.Device}");
        var shape = Shapes.Broadcast(Shapes.Broadcast(condition._shape, a._shape, "Where"), b._shape, "Where");
        var y = a.EmptyLike(shape);
        using (var c = condition.BroadcastTo(shape).OwnedBy(condition))
        using (var va = a.BroadcastTo(shape).OwnedBy(a))
        using (var vb = b.BroadcastTo(shape).OwnedBy(b))
            a.Backend.Where(c, va, vb, y);
        if (!Engine.NeedsGrad(a, b)) return y;
        var node = new WhereBackward(a._shape, b._shape);
        node.Cond = node.Save(condition);
        return Engine.Record(node, y, a, b);
    }

    /// <summary>a + b</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>a - b</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>a * b</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>a / b</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>-a</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
    /// <summary>a + s</summary>
    public static Tensor operator +(Tensor a, double s) => a.Add(s);
    /// <summary>s + a</summary>
    public static Tensor operator +(double s, Tensor a) => a.Add(s);
    /// <summary>a - s</summary>
    public static Tensor operator -(Tensor a, double s) => a.Sub(s);
    /// <summary>s - a</summary>
    public static Tensor operator -(double s, Tensor a) => a.RSub(s);
    /// <summary>a * s</summary>
    public static Tensor operator *(Tensor a, double s) => a.Mul(s);
    /// <summary>s * a</summary>
    public static Tensor operator *(double s, Tensor a) => a.Mul(s);
    /// <summary>a / s</summary>
    public static Tensor operator /(Tensor a, double s) => a.Div(s);
    /// <summary>s / a</summary>
    public static Tensor operator /(double s, Tensor a) => a.RDiv(s);

    /// <summary>Gradient of a + b, or of a - b when <c>subtract</c> is positive.</summary>
    private sealed class AddBackward(int[] aShape, int[] bShape, int subtract) : Node
    {
        public override string Name => subtract > 0 ? "SubBackward" : "AddBackward";

        internal override Tensor?[] Apply(Tensor grad)
        {
            var ga = Edges[0].IsEmpty ? null : grad.SumToShape(aShape);
            Tensor? gb = null;
            if (!Edges[1].IsEmpty)
            {
                using var summed = grad.SumToShape(bShape);
                gb = subtract > 0 ? summed.Neg() : summed.Alias();
            }
            return [ga, gb];
        }
    }

    private sealed class MulBackward(int[] aShape, int[] bShape) : Node
    {
        public SavedTensor? A, B;

        internal override Tensor?[] Apply(Tensor grad)
        {
            Tensor? ga = null, gb = null;
            if (B is not null)
            {
                using var full = grad.Mul(B.Get());
                ga = full.SumToShape(aShape);
            }
            if (A is not null)
            {
                using var full = grad.Mul(A.Get());
                gb = full.SumToShape(bShape);
            }
            return [ga, gb];
        }
    }

    private sealed class DivBackward(int[] aShape, int[] bShape) : Node
    {
        public SavedTensor? A, B;

        internal override Tensor?[] Apply(Tensor grad)
        {
            Tensor? ga = null, gb = null;
            var b = B!.Get();
            if (!Edges[0].IsEmpty)
            {
                using var full = grad.Div(b);
                ga = full.SumToShape(aShape);
            }
            if (A is not null)
            {
                // d(a/b)/db = -a / b^2
                using var ga2 = grad.Mul(A.Get());
                using var b2 = b.Mul(b);
                using var q = ga2.Div(b2);
                using var neg = q.Neg();
                gb = neg.SumToShape(bShape);
            }
            return [ga, gb];
        }
    }

    private sealed class MinMaxBackward(string name, BinaryOp wins, int[] aShape, int[] bShape) : Node
    {
        public SavedTensor? A, B;
        public override string Name => name;

        internal override Tensor?[] Apply(Tensor grad)
        {
            var a = A!.Get();
            var b = B!.Get();
            // weight of a: 1 where a wins, 1/2 on ties, 0 where b wins.
            using var win = BinaryForward(wins, a, b, name);
            using var tie = BinaryForward(BinaryOp.Eq, a, b, name);
            using var halfTie = tie.Mul(0.5);
            using var wa = win.Add(halfTie);
            using var wb = wa.RSub(1);
            using var fa = grad.Mul(wa);
            using var fb = grad.Mul(wb);
            return [fa.SumToShape(aShape), fb.SumToShape(bShape)];
        }
    }

    private sealed class WhereBackward(int[] aShape, int[] bShape) : Node
    {
        public SavedTensor? Cond;

        internal override Tensor?[] Apply(Tensor grad)
        {
            var c = Cond!.Get();
            using var zero = Full([], 0, grad.DType, grad.Device);
            using var fa = Where(c, grad, zero);
            using var fb = Where(c, zero, grad);
            return [fa.SumToShape(aShape), fb.SumToShape(bShape)];
        }
    }
}
