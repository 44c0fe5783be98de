using System.Runtime.InteropServices;

namespace Framework;

/// <summary>
/// A reference-counted block of memory on one device. Tensors are views over a storage; every tensor
/// (and every tensor saved for backward) holds one reference, and the memory goes back to its device
/// when the last reference is released. The version counter is bumped by every in-place write so the
/// tape can refuse a saved tensor that changed after it was saved.
/// </summary>
public abstract class Storage
{
    private int _refs = 1;

    /// <summary>Creates a storage holding one reference.</summary>
    protected Storage(Device device, long byteLength)
    {
        // The last line of defence of the size checks: shapes are checked against Tensor.MaxElements
        // before anything gets here, so a size outside this range is a bug in the caller.
        if (byteLength < 0 || byteLength > Tensor.MaxElements * sizeof(long))
            throw new ArgumentOutOfRangeException(nameof(byteLength),
                $"a storage must have between 0 and {Tensor.MaxElements * sizeof(long)} bytes (Tensor.MaxElements of the widest dtype), got {byteLength}");
        Device = device;
        ByteLength = byteLength;
        MemoryStats.OnAllocate(device, byteLength);
    }

    /// <summary>The device that owns the memory.</summary>
    public Device Device { get; }

    /// <summary>Size in bytes.</summary>
    public long ByteLength { get; }

    /// <summary>Bumped by every in-place write through any view of this storage.</summary>
    public int Version { get; internal set; }

    /// <summary>The version right after the last in-place write that was recorded for autograd; views older than it are stale.</summary>
    internal int RecordedInPlaceVersion { get; set; }

    /// <summary>True once the last reference was released and the memory returned.</summary>
    public bool IsFreed => Volatile.Read(ref _refs) <= 0;

    /// <summary>True when exactly one tensor references this storage (so it can be handed over without a copy).</summary>
    internal bool IsExclusive => Volatile.Read(ref _refs) == 1;

    internal void Retain()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "the storage was already freed");
    }

    internal void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left == 0)
        {
            Free();
            MemoryStats.OnFree(Device, ByteLength);
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Returns the memory to the device. Called exactly once.</summary>
    protected abstract void Free();
}

/// <summary>
/// Host memory from <see cref="Backends.Cpu.CpuAllocator"/>, 64-byte aligned so AVX-512 loads of a
/// tensor's start never split a cache line. Native rather than managed memory: pointers stay fixed
/// without pinning. A storage that was never released is returned by its finalizer (host memory
/// only; device storages never free from a finalizer).
/// </summary>
internal sealed unsafe class CpuStorage : Storage
{
    private void* _ptr;
    private readonly long _classBytes;

    public CpuStorage(long byteLength) : base(Device.Cpu, byteLength)
    {
        _ptr = byteLength == 0 ? null : Backends.Cpu.CpuAllocator.Allocate(byteLength, out _classBytes);
    }

    public void* Pointer => _ptr;

    protected override void Free()
    {
        if (_ptr != null)
        {
            Backends.Cpu.CpuAllocator.Free(_ptr, _classBytes);
            _ptr = null;
        }
    }

    ~CpuStorage()
    {
        if (_ptr != null)
        {
            Backends.Cpu.CpuAllocator.Free(_ptr, _classBytes);
            _ptr = null;
            MemoryStats.OnFree(Device, ByteLength);
        }
    }
}
