using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// Why the kernel tests run with the allocator's caching off: a launch that overruns its tensor by one
/// element is caught only when the storage is an exact allocation (a cached block is rounded up to its
/// size class, so the overrun lands in memory the interpreter considers valid).
/// </summary>
public class ExactBoundsTests
{
    private static void FillElements(CudaBackend backend, Tensor y, long n)
    {
        // fill_f32 over n elements of y, through the backend's own launch helper (rank 1, stride 1).
        var args = new KernelParameterBuffer().Add(CudaBackend.DevicePtr(y)).Add(0UL).Add(0UL).Add(0UL)
            .Add((ulong)n).Add(1u).Add(2.0).Add(0.0);
        for (int d = 0; d < CudaBackend.MaxKernelDims; d++) args.Add(d < CudaBackend.MaxKernelDims - 1 ? 1UL : (ulong)n);
        for (int k = 0; k < 4; k++)
            for (int d = 0; d < CudaBackend.MaxKernelDims; d++) args.Add(k == 0 && d == CudaBackend.MaxKernelDims - 1 ? 1L : 0L);
        backend.Launch("fill_f32", 1u, 32u, 0, args);
    }

    [Test]
    public void AnOverrunByOneElementIsCaughtOnlyWithCachingOff()
    {
        using var exact = new CudaBackend(new EmulatedCudaDriver(1), Device.CudaEmulated(8), caching: false);
        var ys = exact.Allocate(10 * 4);
        using var y = new Tensor(ys, [10], [1], 0, DType.Float32, retain: false, register: false);
        Assert.That(() => FillElements(exact, y, 10), Throws.Nothing);
        var e = Assert.Throws<EmulatorCheckException>(() => FillElements(exact, y, 11))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalOutOfBounds));
        Assert.That(e.Message, Does.Contain("fill_f32"));

        using var cached = new CudaBackend(new EmulatedCudaDriver(1), Device.CudaEmulated(9), caching: true);
        using var yc = new Tensor(cached.Allocate(10 * 4), [10], [1], 0, DType.Float32, retain: false, register: false);
        Assert.That(() => FillElements(cached, yc, 11), Throws.Nothing, "the 512-byte size class hides the overrun");
    }
}
