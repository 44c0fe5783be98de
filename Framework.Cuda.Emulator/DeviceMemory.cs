using Framework.Cuda;

namespace Framework.Cuda.Emulator;

/// <summary>
/// Emulated global memory: one exact-size managed array per allocation. Addresses grow monotonically
/// and are never reused, and consecutive allocations are separated by an unmapped gap of at least
/// 256 bytes, so an access one element past the end (or into a freed block) is always caught.
/// </summary>
internal sealed class DeviceMemory
{
    /// <summary>One allocation: [Base, Base + Data.Length).</summary>
    internal sealed class Allocation(ulong baseAddress, byte[] data)
    {
        public readonly ulong Base = baseAddress;
        public readonly byte[] Data = data;
        public ulong End => Base + (ulong)Data.Length;
    }

    /// <summary>Global addresses start at 4 GiB so a pointer truncated to 32 bits never resolves.</summary>
    public const ulong FirstAddress = 0x1_0000_0000UL;

    private readonly List<Allocation> _allocations = new(); // sorted by Base (addresses only grow)
    private ulong _next = FirstAddress;
    private readonly object _lock = new();

    /// <summary>Bytes currently allocated.</summary>
    public ulong LiveBytes { get; private set; }

    /// <summary>
    /// Byte that fresh allocations are filled with. cuMemAlloc does not clear memory, so the default
    /// (0xFF, a NaN pattern for floats) makes a kernel that reads memory nobody wrote visibly wrong
    /// instead of accidentally right.
    /// </summary>
    public byte Fill { get; set; } = 0xFF;

    public ulong Allocate(ulong bytes)
    {
        if (bytes == 0) throw new CudaException(CudaError.InvalidValue, "cuMemAlloc_v2", "allocation size must be positive, got 0 bytes");
        if (bytes > int.MaxValue) throw new CudaException(CudaError.OutOfMemory, "cuMemAlloc_v2", $"the emulator allocates at most {int.MaxValue} bytes at once, requested {bytes}");
        lock (_lock)
        {
            ulong address = _next;
            var data = new byte[bytes];
            if (Fill != 0) Array.Fill(data, Fill);
            _allocations.Add(new Allocation(address, data));
            _next = address + (bytes + 255) / 256 * 256 + 256;
            LiveBytes += bytes;
            return address;
        }
    }

    public void Free(ulong address)
    {
        lock (_lock)
        {
            int i = IndexOf(address);
            if (i < 0 || _allocations[i].Base != address)
                throw new CudaException(CudaError.InvalidValue, "cuMemFree_v2", $"0x{address:X} is not the start of a live allocation");
            LiveBytes -= (ulong)_allocations[i].Data.Length;
            _allocations.RemoveAt(i);
        }
    }

    /// <summary>The allocation containing [address, address + size), or null.</summary>
    public Allocation? Find(ulong address, ulong size)
    {
        int i = IndexOf(address);
        if (i < 0) return null;
        var a = _allocations[i];
        return size <= (ulong)a.Data.Length && address - a.Base <= (ulong)a.Data.Length - size ? a : null;
    }

    /// <summary>The host view of a device range for copies; throws naming <paramref name="call"/>.</summary>
    public Span<byte> Range(ulong address, ulong size, string call, string what)
    {
        if (size == 0) return Span<byte>.Empty;
        var a = Find(address, size) ?? throw new CudaException(CudaError.InvalidValue, call,
            $"{what} range [0x{address:X}, 0x{address + size:X}) ({size} bytes) is not inside one allocation{Describe(address)}");
        return a.Data.AsSpan((int)(address - a.Base), (int)size);
    }

    /// <summary>A phrase locating an address relative to the nearest allocation, for messages.</summary>
    public string Describe(ulong address)
    {
        int i = IndexOf(address);
        if (i < 0) return "; no allocation at or below it";
        var a = _allocations[i];
        return address < a.End
            ? $"; the allocation at 0x{a.Base:X} holds {a.Data.Length} bytes and the address is at offset {address - a.Base}"
            : $"; the nearest allocation below, 0x{a.Base:X}, holds {a.Data.Length} bytes and ends {address - a.End} bytes before it";
    }

    /// <summary>Index of the last allocation with Base &lt;= address, or -1.</summary>
    private int IndexOf(ulong address)
    {
        int lo = 0, hi = _allocations.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (_allocations[mid].Base <= address) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }
}
