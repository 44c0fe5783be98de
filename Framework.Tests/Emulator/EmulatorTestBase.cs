using System.Runtime.InteropServices;
using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>Shared plumbing: a fresh emulated driver per test and typed copy helpers.</summary>
public abstract class EmulatorTestBase
{
    protected EmulatedCudaDriver Driver = null!;

    [SetUp]
    public void CreateDriver() => Driver = new EmulatedCudaDriver();

    [TearDown]
    public void DisposeDriver() => Driver.Dispose();

    protected ulong Upload<T>(T[] data) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        ulong ptr = Driver.Allocate((ulong)Math.Max(1, bytes.Length));
        Driver.CopyHostToDevice(ptr, bytes);
        return ptr;
    }

    protected ulong Alloc<T>(int count) where T : unmanaged
    {
        ulong ptr = Driver.Allocate((ulong)(count * Marshal.SizeOf<T>()));
        Driver.MemsetD8(ptr, 0, (ulong)(count * Marshal.SizeOf<T>()));
        return ptr;
    }

    protected T[] Download<T>(ulong ptr, int count) where T : unmanaged
    {
        var result = new T[count];
        Driver.CopyDeviceToHost(MemoryMarshal.AsBytes(result.AsSpan()), ptr);
        return result;
    }

    protected CudaFunction Load(string ptx, string kernel, string name = "test.ptx") =>
        Driver.GetFunction(Driver.LoadModule(ptx, name), kernel);

    protected void Launch(CudaFunction f, Dim3 grid, Dim3 block, KernelParameterBuffer args, uint dynamicShared = 0) =>
        Driver.Launch(f, grid, block, dynamicShared, CudaStream.Default, args.Bytes);

    protected static float[] RandomFloats(int n, int seed, float lo = -1f, float hi = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (float)rng.NextDouble() * (hi - lo);
        return a;
    }

    /// <summary>1-based line of the first line containing <paramref name="marker"/>.</summary>
    protected static int LineOf(string text, string marker)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++) if (lines[i].Contains(marker)) return i + 1;
        throw new ArgumentException($"marker '{marker}' not found");
    }

    /// <summary>1-based column of <paramref name="token"/> on the line containing <paramref name="marker"/>.</summary>
    protected static int ColumnOf(string text, string marker, string token)
    {
        var line = text.Split('\n')[LineOf(text, marker) - 1];
        return line.IndexOf(token, StringComparison.Ordinal) + 1;
    }
}
