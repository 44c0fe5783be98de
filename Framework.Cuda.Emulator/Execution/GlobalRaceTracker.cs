namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Happens-before tracking for global memory within one launch (checking mode only, where blocks run
/// interleaved on one host thread, so the shadow needs no locks).
/// <para>
/// Per byte of every allocation a launch touches, two records of the current launch: the last plain
/// store, and the plain loads and atomics (which conflict with the same things: another warp's or
/// block's plain store). A record is a tag (block, warp, barrier phase of that block); a second reader
/// in another warp or block widens it to "several". The shadow (16 bytes per byte, in 1 KiB pages
/// created on first touch) exists only while a launch runs. The ordering model:
/// </para>
/// <list type="bullet">
/// <item>Accesses by one warp are never reported against each other (lanes of a warp that store to one
/// address are serialised by the hardware with one winner; compute-sanitizer's racecheck likewise
/// reports shared-memory hazards, and the issue asks for different-warp or different-block ones).</item>
/// <item>Within a block, <c>bar.sync</c> orders everything before it against everything after it:
/// two accesses of different warps conflict only in the same barrier phase.</item>
/// <item>Across blocks nothing orders plain accesses. <c>membar</c>/<c>fence</c> plus an atomic flag
/// could (the "last block finishes the reduction" pattern), but that is not modelled: such code is
/// reported. No kernel of the project synchronises blocks that way; each block owns its outputs, and
/// cross-block accumulation uses <c>red</c>/<c>atom</c>.</item>
/// <item>Atomics never conflict with atomics, nor with plain loads (the value read is merely
/// unordered); a plain store conflicts with any other access, atomic or not.</item>
/// </list>
/// </summary>
internal sealed class GlobalRaceTracker
{
    private const int EpochBits = 26, WarpBits = 6;
    private const ulong EpochMask = (1UL << EpochBits) - 1;
    private const int ManyWarps = (1 << WarpBits) - 1;
    private const uint ManyBlocks = uint.MaxValue;

    // Allocations touched in this launch; their shadow is dropped when the launch ends.
    private readonly List<DeviceMemory.Allocation> _touched = new();

    /// <summary>Largest block index the tag can hold.</summary>
    public const ulong MaxBlocks = uint.MaxValue - 1;

    /// <summary>The tag of an access by warp <paramref name="warp"/> of block <paramref name="block"/> in barrier phase <paramref name="phase"/>; never 0.</summary>
    public static ulong Tag(ulong block, int warp, long phase) =>
        ((block + 1) << 32) | ((ulong)warp << EpochBits) | Math.Min((ulong)phase, EpochMask);

    private static uint BlockOf(ulong tag) => (uint)(tag >> 32);
    private static int WarpOf(ulong tag) => (int)(tag >> EpochBits) & ManyWarps;
    private static ulong PhaseOf(ulong tag) => tag & EpochMask;

    /// <summary>Whether a recorded access (writer, or a merged reader/atomic record) is unordered with <paramref name="me"/>.</summary>
    private static bool Conflicts(ulong recorded, ulong me)
    {
        if (recorded == 0) return false;
        uint rb = BlockOf(recorded);
        if (rb == ManyBlocks || rb != BlockOf(me)) return true;
        return PhaseOf(recorded) == PhaseOf(me) && WarpOf(recorded) != WarpOf(me);
    }

    /// <summary>Adds <paramref name="me"/> to a reader or atomic record.</summary>
    private static ulong Merge(ulong recorded, ulong me)
    {
        if (recorded == 0) return me;
        uint rb = BlockOf(recorded);
        if (rb == ManyBlocks) return recorded;
        if (rb != BlockOf(me)) return (ulong)ManyBlocks << 32;
        if (PhaseOf(recorded) < PhaseOf(me)) return me; // the older phase is ordered before anything later
        return WarpOf(recorded) == WarpOf(me) ? recorded : recorded | ((ulong)ManyWarps << EpochBits);
    }

    // The shadow is paged, and a page exists only once the launch touches it: allocations are often
    // far larger than what one launch touches (the caching allocator hands out whole blocks).
    private const int PageBits = 10, PageSize = 1 << PageBits;

    /// <summary>
    /// The shadow page holding byte <paramref name="offset"/>: store records at [j, j + size), load/atomic
    /// records at [PageSize + j, ...). An access never crosses a page: it is aligned to its size
    /// (at most 16), allocations start 256-byte aligned, and pages are 1024 bytes.
    /// </summary>
    private ulong[] PageOf(DeviceMemory.Allocation a, int offset, out int j)
    {
        var pages = a.Shadow;
        if (pages is null)
        {
            a.Shadow = pages = new ulong[]?[(a.Data.Length + PageSize - 1) >> PageBits];
            _touched.Add(a);
        }
        j = offset & (PageSize - 1);
        return pages[offset >> PageBits] ??= NewPage();
    }

    // Pages of earlier launches, cleared, for reuse: allocating (and collecting) fresh pages every
    // launch made memory-bound kernels several times slower. The pool holds at most the pages of the
    // launch that touched the most.
    private readonly Stack<ulong[]> _free = new();

    private ulong[] NewPage() => _free.TryPop(out var page) ? page : new ulong[2 * PageSize];

    /// <summary>A plain load; returns the conflicting record's tag (a store) or 0.</summary>
    public ulong Read(DeviceMemory.Allocation a, int offset, int size, ulong me)
    {
        var page = PageOf(a, offset, out int j);
        for (int i = j; i < j + size; i++)
        {
            if (Conflicts(page[i], me)) return page[i];
            page[PageSize + i] = Merge(page[PageSize + i], me);
        }
        return 0;
    }

    /// <summary>A plain store; returns the conflicting record's tag or 0.</summary>
    public ulong Write(DeviceMemory.Allocation a, int offset, int size, ulong me, out string otherKind)
    {
        var page = PageOf(a, offset, out int j);
        for (int i = j; i < j + size; i++)
        {
            if (Conflicts(page[i], me)) { otherKind = "store"; return page[i]; }
            if (Conflicts(page[PageSize + i], me)) { otherKind = "load or atomic"; return page[PageSize + i]; }
            page[i] = me;
        }
        otherKind = "";
        return 0;
    }

    /// <summary>
    /// An atomic; conflicts only with another warp's or block's plain store. Atomics and loads share one
    /// record (neither conflicts with the other), so this is <see cref="Read"/> under its own name.
    /// </summary>
    public ulong AtomicAccess(DeviceMemory.Allocation a, int offset, int size, ulong me) => Read(a, offset, size, me);

    /// <summary>Forgets this launch's records; its pages return to the pool, cleared.</summary>
    public void EndLaunch()
    {
        foreach (var a in _touched)
        {
            foreach (var page in a.Shadow!)
                if (page is not null) { Array.Clear(page); _free.Push(page); }
            a.Shadow = null;
        }
        _touched.Clear();
    }

    /// <summary>Words for a recorded tag: "warp 3 of block (1, 0, 0)", or "several blocks/warps".</summary>
    public static string Describe(ulong tag, Framework.Cuda.Dim3 grid)
    {
        uint b = BlockOf(tag);
        if (b == ManyBlocks) return "threads of several blocks";
        ulong lin = b - 1UL;
        var block = new Framework.Cuda.Dim3((uint)(lin % grid.X), (uint)(lin / grid.X % grid.Y), (uint)(lin / ((ulong)grid.X * grid.Y)));
        int w = WarpOf(tag);
        return (w == ManyWarps ? "several warps" : $"warp {w}") + $" of block {block}";
    }
}
