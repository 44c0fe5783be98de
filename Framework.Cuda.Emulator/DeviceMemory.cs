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
        /// <summary>
        /// Per byte: whether anything wrote it since cuMemAlloc (a copy to the device, a memset, a kernel
        /// store or atomic, a BLAS result). Kernel loads of bytes still false fail like compute-sanitizer's
        /// initcheck; copies back to the host do not (initcheck does not report them either).
        /// </summary>
        public readonly bool[] Written = new bool[data.Length];
        /// <summary>Race shadow pages of the running launch (see <c>GlobalRaceTracker</c>); null outside a checked launch that touches it.</summary>
        public ulong[]?[]? Shadow;
        public ulong End => Base + (ulong)Data.Length;

        /// <summary>Marks [offset, offset + count) written.</summary>
        public void MarkWritten(int offset, int count) => Written.AsSpan(offset, count).Fill(true);
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
        Locate(address, size, call, what, out var span);
        return span;
    }

    /// <summary>The host view of a device range that is about to be written: its bytes count as initialised.</summary>
    public Span<byte> WriteRange(ulong address, ulong size, string call, string what)
    {
        var a = Locate(address, size, call, what, out var span);
        a?.MarkWritten((int)(address - a.Base), span.Length);
        return span;
    }

    /// <summary>cuMemcpyDtoD: the bytes and their initialised-or-not state (as initcheck propagates it).</summary>
    public void CopyWithin(ulong destination, ulong source, ulong size, string call)
    {
        var src = Locate(source, size, call, "source", out var s);
        var dst = Locate(destination, size, call, "destination", out var d);
        if (src is null || dst is null) return;
        s.CopyTo(d);
        src.Written.AsSpan((int)(source - src.Base), (int)size).CopyTo(dst.Written.AsSpan((int)(destination - dst.Base), (int)size));
    }

    private Allocation? Locate(ulong address, ulong size, string call, string what, out Span<byte> span)
    {
        span = Span<byte>.Empty;
        if (size == 0) return null;
        var a = Find(address, size) ?? throw new CudaException(CudaError.InvalidValue, call,
            $"{what} range [0x{address:X}, 0x{address + size:X}) ({size} bytes) is not inside one allocation{Describe(address)}");
        span = a.Data.AsSpan((int)(address - a.Base), (int)size);
        return a;
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
