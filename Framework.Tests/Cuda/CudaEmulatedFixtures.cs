using Framework.Cuda.Emulator;
using Framework.Tests.Autograd;
using Framework.Tests.Ops;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

// The abstract fixtures, unchanged, on the emulated GPU: every op runs the real CUDA backend code and
// the handwritten PTX inside the checking interpreter, with the allocator's caching off so every
// tensor is an exact allocation and the bounds checks are exact. Float32 tolerances are the fixtures'
// own (against PyTorch; the kernels compute transcendental functions in f64 and round once, and sums
// accumulate in f64, so float32 results are at least as close as the CPU backend's).

/// <summary>Turns caching off on emulated device 0 for one fixture and restores it afterwards.</summary>
internal static class UncachedEmulatedDevice
{
    public static bool Enter()
    {
        var backend = EmulatedCuda.Backend(0);
        bool was = backend.Caching;
        backend.Caching = false;
        return was;
    }

    public static void Leave(bool caching) => EmulatedCuda.Backend(0).Caching = caching;
}

[TestFixture]
public class GoldenOpsTestsCudaEmulated : GoldenOpsTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class GradCheckOpsTestsCudaEmulated : GradCheckOpsTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class AutogradTestsCudaEmulated : AutogradTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class TensorApiTestsCudaEmulated : TensorApiTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class StridesAndBroadcastTestsCudaEmulated : StridesAndBroadcastTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class BadInputTestsCudaEmulated : BadInputTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}
