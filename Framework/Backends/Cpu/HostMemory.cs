namespace Framework.Backends.Cpu;

/// <summary>
/// Refuses host allocations that cannot be satisfied, with a clear exception, instead of letting the
/// OS hand out pages it does not have: on Linux a large malloc succeeds under overcommit and the first
/// fill of the tensor then wakes the OOM killer, which ends the process with no message.
/// </summary>
internal static class HostMemory
{
    /// <summary>Requests from this size on are checked against the memory available now; smaller ones are not worth a look.</summary>
    internal const long CheckThreshold = 256L << 20;

    /// <summary>Throws <see cref="OutOfMemoryException"/> naming the request when more than the available memory is asked for.</summary>
    internal static void CheckAvailable(long bytes, string what)
    {
        if (bytes < CheckThreshold) return;
        long available = Available();
        if (bytes > available)
            throw new OutOfMemoryException(
                $"{what} needs {Describe(bytes)} of host memory, but only {Describe(available)} is available");
    }

    /// <summary>
    /// Bytes that can be allocated now: the smaller of the kernel's MemAvailable (Linux) and what the
    /// runtime sees as the machine's or container's limit less its current load.
    /// </summary>
    internal static long Available()
    {
        var info = GC.GetGCMemoryInfo();
        long runtime = info.TotalAvailableMemoryBytes - info.MemoryLoadBytes;
        long os = OperatingSystem.IsLinux() ? MemAvailable() : long.MaxValue;
        long result = Math.Min(os, runtime > 0 ? runtime : long.MaxValue);
        // Blocks cached by the allocator are available too: they go back to the OS before a refusal matters.
        return result == long.MaxValue ? long.MaxValue : result + CpuAllocator.CachedBytes;
    }

    private static long MemAvailable()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], out long kb)) return kb * 1024;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return long.MaxValue;
    }

    internal static string Describe(long bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.##} GiB ({bytes} bytes)" : $"{bytes / (double)(1L << 20):0.##} MiB ({bytes} bytes)";
}
