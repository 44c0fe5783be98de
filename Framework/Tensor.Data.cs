using System.Runtime.InteropServices;
using Framework.Autograd;
using Framework.Backends;

namespace Framework;

public sealed partial class Tensor
{
    /// <summary>
    /// Turns off recording on this thread until the returned scope is disposed (PyTorch's <c>no_grad</c>):
    /// <c>using (Tensor.NoGrad()) { ... }</c>. Grad mode is per thread; dispose the scope on the
    /// thread that opened it and do not await inside it (see <see cref="GradMode"/>).
    /// </summary>
    public static NoGradScope NoGrad() => new();

    /// <summary>Computes the gradients of this tensor with respect to the leaves that require grad.</summary>
    /// <param name="gradient">dL/d(this); may be omitted only for a one-element tensor (it is then 1).</param>
    /// <param name="retainGraph">Keep the saved tensors so that backward can run through this graph again.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Engine.Backward(this, gradient, retainGraph);

    /// <summary>The elements in row-major order, copied to a new array (from any device).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>("ToArray");
        var result = new T[Numel];
        using var c = ContiguousOwned();
        Backend.Download(c, MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    /// <summary>The single value of a one-element tensor, as a double.</summary>
    public double Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item expected a tensor with one element, got shape {Shapes.Format(_shape)} ({Numel} elements)");
        return DType switch
        {
            DType.Float32 => ToArray<float>()[0],
            DType.Float64 => ToArray<double>()[0],
            _ => ToArray<long>()[0],
        };
    }

    /// <summary>The single value of a one-element tensor, as <typeparamref name="T"/>.</summary>
    public T Item<T>() where T : unmanaged
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item expected a tensor with one element, got shape {Shapes.Format(_shape)} ({Numel} elements)");
        return ToArray<T>()[0];
    }

    private void CheckElementType<T>(string op)
    {
        var expected = DType switch { DType.Float32 => typeof(float), DType.Float64 => typeof(double), _ => typeof(long) };
        if (typeof(T) != expected)
            throw new InvalidOperationException($"{op}<{typeof(T).Name}> does not match the tensor's dtype {DType.Name()} (use {expected.Name})");
    }

    /// <summary>This tensor if already contiguous, otherwise a contiguous copy (recorded for backward).</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return this;
        var y = CopyContiguousNoGrad();
        return Engine.NeedsGrad(this) ? Engine.Record(new IdentityBackward(), y, this) : y;
    }

    /// <summary>A contiguous copy with its own storage (recorded for backward).</summary>
    public Tensor Clone()
    {
        var y = CopyContiguousNoGrad();
        return Engine.NeedsGrad(this) ? Engine.Record(new IdentityBackward("CloneBackward"), y, this) : y;
    }

    internal Tensor CopyContiguousNoGrad()
    {
        var y = EmptyLike(_shape);
        Backend.Copy(this, y);
        return y;
    }

    /// <summary>A new tensor object the caller owns: an alias when contiguous, else a contiguous copy. Not scoped.</summary>
    internal Tensor ContiguousOwned()
    {
        if (IsContiguous) return Alias();
        using var unscoped = TensorScope.Suppress();
        return CopyContiguousNoGrad();
    }

    /// <summary>A view with explicit shape and strides over the same storage; no autograd, not scoped.</summary>
    internal Tensor AsStridedAlias(int[] shape, long[] strides, long offset) =>
        new(Storage, shape, strides, offset, DType, retain: true, register: false);

    /// <summary>Converts to <paramref name="dtype"/> (a copy; this tensor when the dtype already matches).</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        var y = Empty(_shape, dtype, Device);
        Backend.Copy(this, y);
        if (Engine.NeedsGrad(this) && dtype.IsFloatingPoint()) Engine.Record(new ToDTypeBackward(DType), y, this);
        return y;
    }

    /// <summary>Moves to <paramref name="device"/> (a copy; this tensor when already there). Gradients flow back across the move.</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return this;
        var host = new byte[Numel * DType.ElementSize()];
        using (var c = ContiguousOwned()) Backend.Download(c, host);
        var y = Empty(_shape, DType, device);
        y.Backend.Upload(host, y);
        if (Engine.NeedsGrad(this)) Engine.Record(new ToDeviceBackward(Device), y, this);
        return y;
    }

    private sealed class IdentityBackward(string name = "ContiguousBackward") : Node
    {
        public override string Name => name;
        internal override Tensor?[] Apply(Tensor grad) => [grad.Alias()];
    }

    private sealed class ToDTypeBackward(DType from) : Node
    {
        internal override Tensor?[] Apply(Tensor grad) => [grad.To(from) is var g && ReferenceEquals(g, grad) ? grad.Alias() : g];
    }

    private sealed class ToDeviceBackward(Device from) : Node
    {
        internal override Tensor?[] Apply(Tensor grad) => [grad.To(from) is var g && ReferenceEquals(g, grad) ? grad.Alias() : g];
    }

    // ---- in-place ops: never recorded; they bump the storage version so stale saved tensors are caught ----

    private void CheckInPlace(string op)
    {
        if (GradMode.IsEnabled && RequiresGrad)
            throw new InvalidOperationException(
                $"{op}: a tensor that requires grad cannot be modified in place while grad mode is on; use Tensor.NoGrad() (as optimizers do) or an out-of-place op");
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape, converted to this dtype) into this tensor.</summary>
    public Tensor CopyFrom(Tensor src)
    {
        CheckInPlace("CopyFrom");
        if (src.Device != Device) throw new ArgumentException($"CopyFrom expected a source on {Device}, got {src.Device}");
        var shape = Shapes.Broadcast(_shape, src._shape, "CopyFrom");
        if (!shape.AsSpan().SequenceEqual(_shape))
            throw new ArgumentException($"CopyFrom: source shape {Shapes.Format(src._shape)} cannot be broadcast to {Shapes.Format(_shape)}");
        using var view = src.AsStridedAlias(_shape, Shapes.BroadcastStrides(src._shape, src._strides, _shape), src._offset);
        Backend.Copy(view, this);
        BumpVersion();
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public Tensor FillInPlace(double value)
    {
        CheckInPlace("FillInPlace");
        Backend.Fill(this, value);
        BumpVersion();
        return this;
    }

    /// <summary>Sets every element to 0 (PyTorch's <c>zero_</c>).</summary>
    public Tensor ZeroInPlace() => FillInPlace(0);

    /// <summary>this += alpha * other, with other broadcast to this shape.</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1)
    {
        if (alpha == 1) return BinaryInPlace(other, BinaryOp.Add, "AddInPlace");
        CheckInPlace("AddInPlace");
        using var scaled = other.NoGradScaled(alpha);
        return BinaryInPlace(scaled, BinaryOp.Add, "AddInPlace");
    }

    /// <summary>this -= other, with other broadcast to this shape.</summary>
    public Tensor SubInPlace(Tensor other) => BinaryInPlace(other, BinaryOp.Sub, "SubInPlace");

    /// <summary>this *= other, with other broadcast to this shape.</summary>
    public Tensor MulInPlace(Tensor other) => BinaryInPlace(other, BinaryOp.Mul, "MulInPlace");

    /// <summary>this /= other, with other broadcast to this shape.</summary>
    public Tensor DivInPlace(Tensor other) => BinaryInPlace(other, BinaryOp.Div, "DivInPlace");

    /// <summary>this *= value.</summary>
    public Tensor MulInPlace(double value)
    {
        CheckInPlace("MulInPlace");
        Backend.Unary(UnaryOp.MulScalar, this, this, value, 0);
        BumpVersion();
        return this;
    }

    /// <summary>this += value.</summary>
    public Tensor AddInPlace(double value)
    {
        CheckInPlace("AddInPlace");
        Backend.Unary(UnaryOp.AddScalar, this, this, value, 0);
        BumpVersion();
        return this;
    }

    private Tensor NoGradScaled(double alpha)
    {
        using var noGrad = NoGrad();
        return Mul(alpha);
    }

    private Tensor BinaryInPlace(Tensor other, BinaryOp op, string name)
    {
        CheckInPlace(name);
        CheckSameKind(other, name);
        var shape = Shapes.Broadcast(_shape, other._shape, name);
        if (!shape.AsSpan().SequenceEqual(_shape))
            throw new ArgumentException($"{name}: shape {Shapes.Format(other._shape)} cannot be broadcast to {Shapes.Format(_shape)}");
        using var view = other.AsStridedAlias(_shape, Shapes.BroadcastStrides(other._shape, other._strides, _shape), other._offset);
        Backend.Binary(op, this, view, this, 0, 0);
        BumpVersion();
        return this;
    }
}
