using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>The caching allocator: reuse without freeing, size classes, counters, the uncached mode, no leaks.</summary>
public class AllocatorTests
{
    private static CudaBackend NewBackend(bool caching) =>
        new(new EmulatedCudaDriver(maxDegreeOfParallelism: 1), Device.CudaEmulated(7), caching);

    [Test]
    public void ReleasedBlocksAreReusedWithoutFreeing()
    {
        using var backend = NewBackend(caching: true);
        var driver = (EmulatedCudaDriver)backend.Driver;
        var a = (CudaStorage)backend.Allocate(1000);
        ulong first = a.DevicePointer;
        Assert.That(backend.AllocatedBytes, Is.EqualTo(1024), "1000 bytes round up to the 512-byte class 1024");
        ReleaseStorage(a);
        Assert.That(backend.AllocatedBytes, Is.Zero);
        Assert.That(backend.ReservedBytes, Is.EqualTo(1024), "the block stays in the cache");
        Assert.That(driver.LiveBytes, Is.EqualTo(1024UL), "no cuMemFree on release");
        var b = (CudaStorage)backend.Allocate(900);
        Assert.That(b.DevicePointer, Is.EqualTo(first), "same size class reuses the cached block");
        ReleaseStorage(b);
        backend.EmptyCache();
        Assert.That(backend.ReservedBytes, Is.Zero);
        Assert.That(driver.LiveBytes, Is.Zero);
    }

    [Test]
    public void SizeClassesAre512BytesThenWholeMebibytes()
    {
        Assert.That(CudaAllocator.SizeClass(1), Is.EqualTo(512UL));
        Assert.That(CudaAllocator.SizeClass(512), Is.EqualTo(512UL));
        Assert.That(CudaAllocator.SizeClass(513), Is.EqualTo(1024UL));
        Assert.That(CudaAllocator.SizeClass(1UL << 20), Is.EqualTo(1UL << 20));
        Assert.That(CudaAllocator.SizeClass((1UL << 20) + 1), Is.EqualTo(2UL << 20));
    }

    [Test]
    public void UncachedModeAllocatesExactlyAndFreesOnRelease()
    {
        using var backend = NewBackend(caching: false);
        var driver = (EmulatedCudaDriver)backend.Driver;
        var a = backend.Allocate(1000);
        Assert.That(driver.LiveBytes, Is.EqualTo(1000UL), "exact size, so the bounds checker sees the real end");
        ReleaseStorage(a);
        Assert.That(driver.LiveBytes, Is.Zero);
        Assert.That(backend.ReservedBytes, Is.Zero);
    }

    [Test]
    public void TurningCachingOffEmptiesTheCache()
    {
        using var backend = NewBackend(caching: true);
        ReleaseStorage(backend.Allocate(4096));
        Assert.That(backend.ReservedBytes, Is.EqualTo(4096));
        backend.Caching = false;
        Assert.That(backend.ReservedBytes, Is.Zero);
        Assert.That(((EmulatedCudaDriver)backend.Driver).LiveBytes, Is.Zero);
    }

    [Test]
    public void ThousandTrainingIterationsInScopesReturnLiveBytesToTheStart()
    {
        var device = Device.CudaEmulated(0);
        var backend = EmulatedCuda.Backend(0);
        using var outer = new TensorScope();
        var w = outer.Forget(Tensor.Randn([16, 4], new Generator(1), DType.Float32, device));
        w.RequiresGrad = true;
        var b = outer.Forget(Tensor.Zeros([4], DType.Float32, device));
        b.RequiresGrad = true;
        long liveBefore = MemoryStats.LiveBytes(device), allocatedBefore = backend.AllocatedBytes;
        long reservedAfterWarmUp = 0;
        for (int i = 0; i < 1000; i++)
        {
            using (var scope = new TensorScope())
            {
                var x = Tensor.Randn([8, 16], new Generator((ulong)i), DType.Float32, device);
                var loss = x.Matmul(w).Add(b).Relu().Sum();
                loss.Backward();
                using (Tensor.NoGrad())
                {
                    w.SubInPlace(w.Grad!.Mul(0.001));
                    b.SubInPlace(b.Grad!.Mul(0.001));
                }
                w.Grad!.Dispose(); w.Grad = null;
                b.Grad!.Dispose(); b.Grad = null;
            }
            if (i == 9) reservedAfterWarmUp = backend.ReservedBytes;
        }
        Assert.That(MemoryStats.LiveBytes(device), Is.EqualTo(liveBefore), "live storage bytes back at the start");
        Assert.That(backend.AllocatedBytes, Is.EqualTo(allocatedBefore), "allocator's live blocks back at the start");
        Assert.That(backend.ReservedBytes, Is.EqualTo(reservedAfterWarmUp), "after warm-up every request is served from the cache");
        w.Dispose();
        b.Dispose();
    }

    private static void ReleaseStorage(Framework.Storage s)
    {
        // A storage is released through the tensor that owns its reference.
        var t = new Tensor(s, [0], [1], 0, DType.Float32, retain: false, register: false);
        t.Dispose();
    }
}
