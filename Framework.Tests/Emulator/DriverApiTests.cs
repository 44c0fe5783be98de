using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>The non-kernel driver surface: memory, copies, memsets, handles, streams, device info.</summary>
public class DriverApiTests : EmulatorTestBase
{
    [Test]
    public void DeviceInfoDescribesTheLimitsTheChecksEnforce()
    {
        var d = Driver.Device;
        Assert.That(d.MaxThreadsPerBlock, Is.EqualTo(1024));
        Assert.That(d.MaxSharedMemoryPerBlock, Is.EqualTo(48 * 1024));
        Assert.That(d.WarpSize, Is.EqualTo(32));
        Assert.That(d.ComputeCapabilityMajor, Is.GreaterThanOrEqualTo(7));
        Assert.That(d.MultiprocessorCount, Is.GreaterThan(0));
        Assert.That(d.TotalMemoryBytes, Is.GreaterThan(0UL));
    }

    [Test]
    public void CopiesAndMemsetsRoundTrip()
    {
        ulong a = Driver.Allocate(40), b = Driver.Allocate(40);
        Assert.That(a % 256, Is.EqualTo(0UL));
        Assert.That(Driver.LiveBytes, Is.EqualTo(80UL));
        Driver.MemsetD32(a, 0xDEADBEEF, 10);
        Assert.That(Download<uint>(a, 10), Is.All.EqualTo(0xDEADBEEF));
        Driver.MemsetD8(a + 4, 0x11, 4);
        Assert.That(Download<uint>(a, 2), Is.EqualTo(new[] { 0xDEADBEEF, 0x11111111u }));
        Driver.CopyHostToDevice(b, BitConverter.GetBytes(42L));
        Driver.CopyDeviceToDevice(a + 8, b, 8);
        Assert.That(Download<long>(a + 8, 1)[0], Is.EqualTo(42L));
        Driver.Free(a);
        Driver.Free(b);
        Assert.That(Driver.LiveBytes, Is.EqualTo(0UL));
    }

    [Test]
    public void OutOfRangeHostCallsFailWithTheCallName()
    {
        ulong a = Driver.Allocate(16);
        var e = Assert.Throws<CudaException>(() => Driver.CopyHostToDevice(a + 8, new byte[9]))!;
        Assert.That(e.Call, Is.EqualTo("cuMemcpyHtoD_v2"));
        Assert.That(e.Error, Is.EqualTo(CudaError.InvalidValue));
        Assert.That(e.Message, Does.Contain("holds 16 bytes"));
        Assert.Throws<CudaException>(() => Driver.CopyDeviceToHost(new byte[17], a));
        Assert.Throws<CudaException>(() => Driver.MemsetD32(a + 2, 0, 1));
        Assert.Throws<CudaException>(() => Driver.Free(a + 4));
        Assert.Throws<CudaException>(() => Driver.Allocate(0));
        Driver.Free(a);
        Assert.That(Assert.Throws<CudaException>(() => Driver.Free(a))!.Call, Is.EqualTo("cuMemFree_v2"));
    }

    [Test]
    public void HandlesAreChecked()
    {
        var m = Driver.LoadModule(Kernels.VectorAdd, "vadd.ptx");
        var f = Driver.GetFunction(m, "vadd");
        Assert.That(Driver.GetFunction(m, "vadd"), Is.EqualTo(f));
        var s = Driver.CreateStream();
        ulong a = Alloc<float>(4);
        Driver.Launch(f, 1u, 4u, 0, s, new KernelParameterBuffer().Add(a).Add(a).Add(a).Add(4u).Bytes);
        Driver.Synchronize();
        Driver.DestroyStream(s);
        Assert.That(Assert.Throws<CudaException>(() =>
            Driver.Launch(f, 1u, 4u, 0, s, new KernelParameterBuffer().Add(a).Add(a).Add(a).Add(4u).Bytes))!.Error,
            Is.EqualTo(CudaError.InvalidHandle));
        Driver.UnloadModule(m);
        Assert.That(Assert.Throws<CudaException>(() =>
            Driver.Launch(f, 1u, 4u, 0, CudaStream.Default, new KernelParameterBuffer().Add(a).Add(a).Add(a).Add(4u).Bytes))!.Error,
            Is.EqualTo(CudaError.InvalidHandle));
        Assert.Throws<CudaException>(() => Driver.GetFunction(m, "vadd"));
    }

    [Test]
    public void ParameterBufferPacksAtNaturalAlignment()
    {
        var p = new KernelParameterBuffer().Add(1u).Add(2UL).Add(3f).Add((short)0 + 4).Add(5.0);
        // 1u @0, 2UL @8, 3f @16, 4 @20, 5.0 @24 -> 32 bytes
        Assert.That(p.Bytes.Length, Is.EqualTo(32));
        Assert.That(BitConverter.ToUInt64(p.Bytes.Slice(8, 8)), Is.EqualTo(2UL));
        Assert.That(BitConverter.ToDouble(p.Bytes.Slice(24, 8)), Is.EqualTo(5.0));
    }

    [Test]
    public void ManyBlocksRunInParallelAndMatchASingleWorker()
    {
        const int n = 5000;
        var x = RandomFloats(n, 77);
        Driver.Checking = false; // checking mode runs blocks on one thread; this test is about the parallel path
        using var serial = new EmulatedCudaDriver(maxDegreeOfParallelism: 1);
        float[] Run(EmulatedCudaDriver drv)
        {
            ulong dx = drv.Allocate(n * 4), dout = drv.Allocate(((n + 63) / 64) * 4);
            drv.CopyHostToDevice(dx, System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
            var f = drv.GetFunction(drv.LoadModule(Kernels.BlockSum, "b.ptx"), "block_sum");
            drv.Launch(f, (uint)((n + 63) / 64), 64u, 256, CudaStream.Default, new KernelParameterBuffer().Add(dx).Add(dout).Add((uint)n).Bytes);
            var r = new float[(n + 63) / 64];
            drv.CopyDeviceToHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(r.AsSpan()), dout);
            return r;
        }
        Assert.That(Run(Driver), Is.EqualTo(Run(serial)));
        Assert.That(Driver.LastLaunch with { }, Is.EqualTo(serial.LastLaunch));
    }

    [Test]
    public void FreshMemoryIsPoisonedUnlessConfiguredOtherwise()
    {
        ulong a = Driver.Allocate(8);
        Assert.That(float.IsNaN(Download<float>(a, 1)[0]), Is.True, "unwritten device memory reads as NaN");
        Driver.PoisonByte = 0;
        ulong b = Driver.Allocate(8);
        Assert.That(Download<ulong>(b, 1)[0], Is.EqualTo(0UL));
    }

    [Test]
    public void CallsFromSeveralHostThreadsAreSerialized()
    {
        var f = Load(Kernels.VectorAdd, "vadd");
        Parallel.For(0, 8, i =>
        {
            int n = 100 + i;
            var a = RandomFloats(n, i);
            ulong da = Upload(a), dc = Alloc<float>(n);
            Driver.Launch(f, 1u, 64u, 0, CudaStream.Default, new KernelParameterBuffer().Add(da).Add(da).Add(dc).Add((uint)n).Bytes);
            var c = Download<float>(dc, n);
            for (int k = 0; k < n; k++) Assert.That(c[k], Is.EqualTo(a[k] + a[k]));
            Driver.Free(da);
            Driver.Free(dc);
        });
        Assert.That(Driver.Totals.Launches, Is.EqualTo(8));
        Assert.That(Driver.LiveBytes, Is.EqualTo(0UL));
    }
}
