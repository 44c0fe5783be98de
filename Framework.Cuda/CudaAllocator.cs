namespace Framework.Cuda;

/// <summary>
/// A caching device allocator. Requests are rounded up to a size class (512 bytes below 1 MiB, then
/// whole MiB) and released blocks are kept per class for reuse without <c>cuMemFree</c>, because
/// cuMemAlloc/cuMemFree synchronise the device and cost tens of microseconds. <see cref="EmptyCache"/>
/// returns the cached blocks to the driver. With <see cref="Caching"/> off every request is an exact
/// driver allocation freed on release, so the emulator's bounds checker sees exact sizes.
/// </summary>
internal sealed class CudaAllocator
{
    private const ulong SmallLimit = 1UL << 20, SmallGranule = 512, LargeGranule = 1UL << 20;

    private readonly ICudaDriver _driver;
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Stack<ulong>> _cache = new();
    private bool _caching;

    public CudaAllocator(ICudaDriver driver, bool caching)
    {
        _driver = driver;
        _caching = caching;
    }

    /// <summary>Bytes of blocks handed out and not yet released (in size-class bytes).</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Bytes obtained from the driver and not yet returned: allocated plus cached.</summary>
    public long ReservedBytes { get; private set; }

    /// <summary>Whether released blocks are kept for reuse; turning it off empties the cache.</summary>
    public bool Caching
    {
        get { lock (_gate) return _caching; }
        set
        {
            lock (_gate) _caching = value;
            if (!value) EmptyCache();
        }
    }

    /// <summary>The size class of a request: what a block of that request really occupies.</summary>
    public static ulong SizeClass(ulong bytes) =>
        bytes <= SmallLimit ? (bytes + SmallGranule - 1) / SmallGranule * SmallGranule : (bytes + LargeGranule - 1) / LargeGranule * LargeGranule;

    public ulong Allocate(ulong bytes, out ulong blockBytes)
    {
        lock (_gate)
        {
            blockBytes = _caching ? SizeClass(bytes) : bytes;
            if (_caching && _cache.TryGetValue(blockBytes, out var stack) && stack.Count > 0)
            {
                AllocatedBytes += (long)blockBytes;
                return stack.Pop();
            }
            ulong ptr;
            try { ptr = _driver.Allocate(blockBytes); }
            catch (CudaException e) when (e.Error == CudaError.OutOfMemory && ReservedBytes > AllocatedBytes)
            {
                // Out of memory while blocks sit in the cache: give them back and try once more.
                EmptyCacheLocked();
                ptr = _driver.Allocate(blockBytes);
            }
            AllocatedBytes += (long)blockBytes;
            ReservedBytes += (long)blockBytes;
            return ptr;
        }
    }

    public void Free(ulong ptr, ulong blockBytes)
    {
        lock (_gate)
        {
            AllocatedBytes -= (long)blockBytes;
            if (_caching)
            {
                if (!_cache.TryGetValue(blockBytes, out var stack)) _cache[blockBytes] = stack = new Stack<ulong>();
                stack.Push(ptr);
                return;
            }
            ReservedBytes -= (long)blockBytes;
            _driver.Free(ptr);
        }
    }

    /// <summary>Returns every cached block to the driver.</summary>
    public void EmptyCache()
    {
        lock (_gate) EmptyCacheLocked();
    }

    private void EmptyCacheLocked()
    {
        foreach (var (size, stack) in _cache)
            while (stack.Count > 0)
            {
                _driver.Free(stack.Pop());
                ReservedBytes -= (long)size;
            }
    }
}
