using Framework.Cuda.Emulator;
using Framework.Tests.Nn;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

// The norm fixtures, unchanged, on the emulated GPU: BatchNorm2d/InstanceNorm2d (and the GroupNorm /
// LayerNorm paths they share) run the CUDA backend's launch code and kernels/norm.ptx, norm_bwd.ptx inside the
// checking interpreter, with the allocator's caching off so every tensor and workspace is an exact
// allocation and the bounds checks are exact. Tolerances are the fixtures' own float32 ones (against
// PyTorch and the float64 gradient check): the kernels accumulate in float64 and round the statistics
// once, as the CPU backend does, so float32 results are at least as close to the reference.

/// <summary>Turns the emulated device's caching off for one fixture and restores it afterwards.</summary>
internal static class ExactAllocations
{
    public static bool Off() { var b = EmulatedCuda.Backend(0); bool was = b.Caching; b.Caching = false; return was; }

    public static void Restore(bool caching) => EmulatedCuda.Backend(0).Caching = caching;
}

[TestFixture]
public class NormGoldenTestsCudaEmulated : NormGoldenTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactOn() => _caching = ExactAllocations.Off();
    [OneTimeTearDown] public void ExactOff() => ExactAllocations.Restore(_caching);
}

[TestFixture]
public class NormGradCheckTestsCudaEmulated : NormGradCheckTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactOn() => _caching = ExactAllocations.Off();
    [OneTimeTearDown] public void ExactOff() => ExactAllocations.Restore(_caching);
}

[TestFixture]
public class NormBehaviourTestsCudaEmulated : NormBehaviourTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactOn() => _caching = ExactAllocations.Off();
    [OneTimeTearDown] public void ExactOff() => ExactAllocations.Restore(_caching);
}
