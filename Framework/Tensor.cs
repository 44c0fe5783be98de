using Framework.Autograd;
using Framework.Backends;

namespace Framework;

/// <summary>
/// An n-dimensional array of one <see cref="DType"/> on one <see cref="Device"/>: a shape, strides
/// (in elements) and an offset over a reference-counted <see cref="Storage"/>. Views share storage.
/// A tensor that requires grad records the ops applied to it on the tape, and
/// <see cref="Backward"/> fills the <see cref="Grad"/> of the leaves.
/// </summary>
/// <remarks>
/// Tensors own native memory: dispose them, or create them inside a <see cref="TensorScope"/>.
/// Host memory that was never released is reclaimed by the garbage collector as a last resort.
/// </remarks>
public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;
    internal readonly int[] _shape;
    internal readonly long[] _strides;
    internal readonly long _offset;
    private readonly long _numel;
    private bool _requiresGrad;

    /// <summary>
    /// The most elements one tensor (or view) may have: 2^48. Chosen so that nothing computed from sizes
    /// can overflow: the byte count of the widest dtype (8 bytes) stays at most 2^51, so byte counts,
    /// allocation classes rounded up and sums of a few of them fit in a long; element counts are exact
    /// in a double (2^53); and 2^48 elements is far beyond any memory a tensor could really have. Every
    /// factory, view and layer output-size rule checks against it and throws <see cref="ArgumentException"/>
    /// before allocating. The product is taken with empty dims counted as 1, so that the contiguous
    /// strides of an empty tensor fit as well.
    /// </summary>
    public const long MaxElements = 1L << 48;

    internal Tensor(Storage storage, int[] shape, long[] strides, long offset, DType dtype, bool retain, bool register = true)
    {
        // Checked before taking a reference, so a rejected shape leaks nothing.
        _numel = Shapes.Numel(shape);
        if (retain) storage.Retain();
        _storage = storage;
        _shape = shape;
        _strides = strides;
        _offset = offset;
        DType = dtype;
        IsContiguous = Shapes.IsContiguous(shape, strides);
        MemoryStats.OnTensorCreated(storage.Device);
        if (register) TensorScope.Register(this);
    }

    /// <summary>Allocates an uninitialised contiguous tensor.</summary>
    internal static Tensor Empty(int[] shape, DType dtype, Device device)
    {
        long bytes = Shapes.Numel(shape) * dtype.ElementSize(); // checked first: nothing is allocated for a bad shape
        var backend = BackendRegistry.Get(device);
        var storage = backend.Allocate(bytes);
        return new Tensor(storage, shape, Shapes.ContiguousStrides(shape), 0, dtype, retain: false);
    }

    /// <summary>An uninitialised contiguous tensor with this tensor's dtype and device.</summary>
    internal Tensor EmptyLike(int[] shape) => Empty(shape, DType, Device);

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>The device holding the data.</summary>
    public Device Device => Storage.Device;

    /// <summary>The storage; throws once the tensor is disposed.</summary>
    public Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), "the tensor was disposed");

    internal Backend Backend => BackendRegistry.Get(Device);

    /// <summary>A copy of the shape.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>A copy of the strides, in elements.</summary>
    public long[] Strides => (long[])_strides.Clone();

    /// <summary>Offset of the first element in the storage, in elements.</summary>
    public long StorageOffset => _offset;

    /// <summary>Number of dimensions (PyTorch's <c>dim()</c>).</summary>
    public int Dim => _shape.Length;

    /// <summary>Number of elements (PyTorch's <c>numel()</c>).</summary>
    public long Numel => _numel;

    /// <summary>True when the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous { get; }

    /// <summary>True once <see cref="Dispose"/> ran.</summary>
    public bool IsDisposed => _storage is null;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => _shape[Shapes.NormalizeDim(dim, _shape.Length, "Size")];

    /// <summary>The node that created this tensor on the tape; null for leaves.</summary>
    public Node? GradFn { get; private set; }

    /// <summary>True for tensors not created by a recorded op (user-created tensors and parameters).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>
    /// Whether ops on this tensor are recorded for backward. Only floating-point leaves may change it;
    /// results of recorded ops require grad by construction.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf)
                throw new InvalidOperationException(
                    "RequiresGrad can only be changed on leaf tensors; use Detach() to get a leaf from a computed tensor");
            if (value && !DType.IsFloatingPoint())
                throw new InvalidOperationException($"only floating-point tensors can require grad, got {DType.Name()}");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor, for chaining.</summary>
    public Tensor SetRequiresGrad(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    internal void SetRequiresGradFromOp(Node node)
    {
        // This tensor keeps its node alive; an in-place op that gives it a new node lets go of the
        // old one (which the new node's edge normally still holds).
        node.AddRef();
        var old = GradFn;
        GradFn = node;
        _requiresGrad = true;
        if (old is not null) Node.DropRef(old);
    }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward"/>; null before.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>
    /// Internal hook (PyTorch's <c>register_post_accumulate_grad_hook</c>) for leaves: the engine calls it
    /// with this tensor once its <see cref="Grad"/> is final for the running backward pass (after the last
    /// of the pass's gradients into this leaf is accumulated). Framework.Distributed's DDP uses it to start
    /// a bucket's all-reduce while backward goes on.
    /// </summary>
    internal Action<Tensor>? PostAccumulateGradHook { get; set; }

    /// <summary>
    /// Releases this tensor's reference to its storage. The memory is returned when the last view
    /// (and the last tensor saved for backward) is released. Safe to call more than once.
    /// </summary>
    public void Dispose()
    {
        var s = Interlocked.Exchange(ref _storage, null);
        if (s is null) return;
        MemoryStats.OnTensorReleased(s.Device);
        s.Release();
        // GradFn stays readable for inspection, but no longer keeps the graph alive.
        if (GradFn is { } fn) Node.DropRef(fn);
    }

    /// <summary>A new tensor that shares storage with this one but is not on the tape (a leaf that does not require grad).</summary>
    public Tensor Detach() => new(Storage, _shape, _strides, _offset, DType, retain: true);

    /// <summary>An alias that holds its own storage reference; used to save tensors for backward.</summary>
    internal Tensor Alias() => new(Storage, _shape, _strides, _offset, DType, retain: true, register: false);

    internal void BumpVersion() => Storage.Version++;

    /// <summary>Throws unless <paramref name="other"/> has this tensor's dtype and device.</summary>
    internal void CheckSameKind(Tensor other, string op)
    {
        if (other.DType != DType)
            throw new ArgumentException($"{op} expected both tensors to have dtype {DType.Name()}, got {DType.Name()} and {other.DType.Name()}");
        if (other.Device != Device)
            throw new ArgumentException($"{op} expected both tensors on {Device}, got {Device} and {other.Device}");
    }

    internal void CheckFloatingPoint(string op)
    {
        if (!DType.IsFloatingPoint())
            throw new ArgumentException($"{op} expected a floating-point tensor (float32 or float64), got {DType.Name()}");
    }
}
