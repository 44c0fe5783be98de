using System.Runtime.InteropServices;
using Framework.Backends.Cpu;
using Framework.Cuda.Emulator;
using Framework.Cuda.Kernels;

namespace Framework.Tests.CudaKernels;

/// <summary>
/// Runs one norm operation through kernels/norm.ptx, norm_bwd.ptx on the emulator (exact allocations, every
/// check on) and through the CPU NormKernels on the same float32 data, and returns both results.
/// </summary>
internal sealed unsafe class NormKernelRig : IDisposable
{
    public readonly EmulatedCudaDriver Driver = new();
    public readonly NormLauncher Launcher;
    private readonly List<ulong> _live = [];

    public NormKernelRig(uint threads = 256, int cacheBytes = 46 * 1024, uint maxGridY = 65535, int targetBlocks = 256, int partElements = 4096)
    {
        Launcher = new NormLauncher(NormLauncher.DriverLaunch(Driver), Driver.Allocate, Driver.Free) { Threads = threads, CacheBytes = cacheBytes, MaxGridY = maxGridY, TargetBlocks = targetBlocks, PartElements = partElements };
    }

    public ulong Up<T>(T[]? a) where T : unmanaged
    {
        if (a is null) return 0;
        var bytes = MemoryMarshal.AsBytes(a.AsSpan());
        ulong p = Driver.Allocate((ulong)Math.Max(bytes.Length, 1));
        Driver.CopyHostToDevice(p, bytes);
        _live.Add(p);
        return p;
    }

    public T[] Down<T>(ulong p, int count) where T : unmanaged
    {
        var a = new T[count];
        if (p != 0) Driver.CopyDeviceToHost(MemoryMarshal.AsBytes(a.AsSpan()), p);
        return a;
    }

    public static float[] Random(int n, int seed, double scale = 1, double shift = 0)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = (float)(shift + scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    public static double[] Widen(float[] a) => Array.ConvertAll(a, v => (double)v);

    public void Dispose()
    {
        foreach (ulong p in _live) Driver.Free(p);
        Driver.Dispose();
    }
}
