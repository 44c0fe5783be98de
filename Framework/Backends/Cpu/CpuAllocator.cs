using System.Numerics;
using System.Runtime.InteropServices;

namespace Framework.Backends.Cpu;

/// <summary>
/// A caching allocator for host memory. Freed blocks are kept per size class and handed out again,
/// so a training loop that allocates the same shapes every step stops touching the OS after its first
/// step: no fresh pages to fault in, no malloc/free, and no GC memory-pressure churn (pressure is
/// added only when memory really comes from the OS, which is what lets leaked storages still be
/// finalized). Classes are powers of two up to 1 MiB and multiples of 1 MiB above.
/// </summary>
public static unsafe class CpuAllocator
{
    private const long SmallLimit = 1 << 20;
    private const int Alignment = 64;

    private static readonly object s_lock = new();
    private static readonly Dictionary<long, Stack<IntPtr>> s_free = [];
    private static long s_cachedBytes;
    private static long s_reservedBytes;

    /// <summary>The most bytes kept in the cache; blocks freed beyond it go back to the OS. Default 2 GiB.</summary>
    public static long MaxCachedBytes { get; set; } = 2L << 30;

    /// <summary>Bytes held from the OS: in use plus cached.</summary>
    public static long ReservedBytes => Interlocked.Read(ref s_reservedBytes);

    /// <summary>Bytes sitting in the cache, ready for reuse.</summary>
    public static long CachedBytes => Interlocked.Read(ref s_cachedBytes);

    /// <summary>When false, every block is returned to the OS at once (exact allocations, e.g. for leak hunting).</summary>
    public static bool CachingEnabled { get; set; } = true;

    internal static long ClassSize(long bytes) =>
        bytes <= 64 ? 64
        : bytes <= SmallLimit ? (long)BitOperations.RoundUpToPowerOf2((ulong)bytes)
        : (bytes + SmallLimit - 1) / SmallLimit * SmallLimit;

    internal static void* Allocate(long bytes, out long classBytes)
    {
        classBytes = ClassSize(bytes);
        lock (s_lock)
        {
            if (s_free.TryGetValue(classBytes, out var stack) && stack.Count > 0)
            {
                s_cachedBytes -= classBytes;
                return (void*)stack.Pop();
            }
        }
        HostMemory.CheckAvailable(classBytes, "a tensor storage");
        void* p;
        try { p = NativeMemory.AlignedAlloc((nuint)classBytes, Alignment); }
        catch (OutOfMemoryException)
        {
            throw new OutOfMemoryException($"the allocation of {HostMemory.Describe(classBytes)} of host memory for a tensor storage failed");
        }
        Interlocked.Add(ref s_reservedBytes, classBytes);
        GC.AddMemoryPressure(classBytes);
        return p;
    }

    internal static void Free(void* p, long classBytes)
    {
        if (CachingEnabled)
        {
            lock (s_lock)
            {
                if (s_cachedBytes + classBytes <= MaxCachedBytes)
                {
                    if (!s_free.TryGetValue(classBytes, out var stack)) s_free[classBytes] = stack = new Stack<IntPtr>();
                    stack.Push((IntPtr)p);
                    s_cachedBytes += classBytes;
                    return;
                }
            }
        }
        Release(p, classBytes);
    }

    private static void Release(void* p, long classBytes)
    {
        NativeMemory.AlignedFree(p);
        Interlocked.Add(ref s_reservedBytes, -classBytes);
        GC.RemoveMemoryPressure(classBytes);
    }

    /// <summary>Returns every cached block to the OS.</summary>
    public static void EmptyCache()
    {
        List<(IntPtr, long)> blocks = [];
        lock (s_lock)
        {
            foreach (var (size, stack) in s_free)
                while (stack.Count > 0) blocks.Add((stack.Pop(), size));
            s_cachedBytes = 0;
        }
        foreach (var (p, size) in blocks) Release((void*)p, size);
    }
}
