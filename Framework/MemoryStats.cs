using System.Collections.Concurrent;

namespace Framework;

/// <summary>Live storage bytes and live tensors per device: the way to find leaks the GC cannot see.</summary>
public static class MemoryStats
{
    private sealed class Counters
    {
        public long Bytes;
        public long Storages;
        public long Tensors;
    }

    private static readonly ConcurrentDictionary<Device, Counters> s_counters = new();

    // The CPU's counters are touched by every tensor created, so they skip the dictionary.
    private static readonly Counters s_cpu = s_counters.GetOrAdd(Device.Cpu, new Counters());

    private static Counters For(Device d) =>
        d.Type == DeviceType.Cpu ? s_cpu : s_counters.GetOrAdd(d, static _ => new Counters());

    /// <summary>Bytes held by storages not yet released on <paramref name="device"/>.</summary>
    public static long LiveBytes(Device device) => Interlocked.Read(ref For(device).Bytes);

    /// <summary>Storages not yet released on <paramref name="device"/>.</summary>
    public static long LiveStorages(Device device) => Interlocked.Read(ref For(device).Storages);

    /// <summary>Tensors created and not yet disposed (or collected) on <paramref name="device"/>.</summary>
    public static long LiveTensors(Device device) => Interlocked.Read(ref For(device).Tensors);

    internal static void OnAllocate(Device d, long bytes)
    {
        var c = For(d);
        Interlocked.Add(ref c.Bytes, bytes);
        Interlocked.Increment(ref c.Storages);
    }

    internal static void OnFree(Device d, long bytes)
    {
        var c = For(d);
        Interlocked.Add(ref c.Bytes, -bytes);
        Interlocked.Decrement(ref c.Storages);
    }

    internal static void OnTensorCreated(Device d) => Interlocked.Increment(ref For(d).Tensors);

    internal static void OnTensorReleased(Device d) => Interlocked.Decrement(ref For(d).Tensors);
}
