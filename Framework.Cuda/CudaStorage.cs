namespace Framework.Cuda;

/// <summary>
/// Device memory from a <see cref="CudaBackend"/>'s caching allocator. Released memory goes back to the
/// allocator (which may keep it for reuse). There is deliberately no finalizer: a finalizer would call
/// into the driver from the GC thread at an unknown time; leaked device memory shows up in
/// <see cref="MemoryStats.LiveBytes"/> and <see cref="CudaBackend.AllocatedBytes"/> instead.
/// </summary>
public sealed class CudaStorage : Storage
{
    private readonly CudaAllocator _allocator;
    private readonly ulong _blockBytes;

    internal CudaStorage(CudaAllocator allocator, Device device, long byteLength) : base(device, byteLength)
    {
        _allocator = allocator;
        DevicePointer = byteLength == 0 ? 0 : allocator.Allocate((ulong)byteLength, out _blockBytes);
    }

    /// <summary>Device address of the first byte (0 for an empty storage).</summary>
    public ulong DevicePointer { get; private set; }

    /// <inheritdoc />
    protected override void Free()
    {
        if (DevicePointer != 0) _allocator.Free(DevicePointer, _blockBytes);
        DevicePointer = 0;
    }
}
