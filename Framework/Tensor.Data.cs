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
        if (Numel > Array.MaxLength)
            throw new InvalidOperationException($"ToArray: a .NET array holds at most {Array.MaxLength} elements, the tensor {Shapes.Format(_shape)} has {Numel}");
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
        // The copy goes through one managed byte array.
        if (Numel * DType.ElementSize() > Array.MaxLength)
            throw new NotSupportedException(
                $"To({device}): tensors of more than {Array.MaxLength} bytes cannot be moved between devices yet; {Shapes.Format(_shape)} {DType.Name()} has {Numel * DType.ElementSize()} bytes");
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
}
