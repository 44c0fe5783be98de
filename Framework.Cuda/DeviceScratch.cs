namespace Framework.Cuda;

/// <summary>
/// A temporary device buffer from the caching allocator for a backend method's own work (column
/// matrices of a convolution). Not a tensor: it never enters a <see cref="TensorScope"/>, and it goes
/// back to the allocator when the method ends.
/// </summary>
internal sealed class DeviceScratch : IDisposable
{
    private readonly CudaAllocator _allocator;
    private readonly ulong _blockBytes;

    public DeviceScratch(CudaAllocator allocator, ulong bytes)
    {
        _allocator = allocator;
        Pointer = bytes == 0 ? 0 : allocator.Allocate(bytes, out _blockBytes);
    }

    /// <summary>Device address of the first byte (0 for an empty buffer).</summary>
    public ulong Pointer { get; private set; }

    public void Dispose()
    {
        if (Pointer != 0) _allocator.Free(Pointer, _blockBytes);
        Pointer = 0;
    }
}
