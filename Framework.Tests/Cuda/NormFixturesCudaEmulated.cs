using Framework.Tests.Nn;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

// The norm fixtures, unchanged, on the emulated GPU: BatchNorm2d/InstanceNorm2d (and the GroupNorm /
// LayerNorm paths they share) run the CUDA backend's launch code and kernels/norm.ptx, norm_bwd.ptx inside the
// checking interpreter, with the allocator's caching off so every tensor and workspace is an exact
// allocation and the bounds checks are exact. Tolerances are the fixtures' own float32 ones (against
// PyTorch and the float64 gradient check): the kernels accumulate in float64 and round the statistics
// once, as the CPU backend does, so float32 results are at least as close to the reference.

[TestFixture]
public class NormGoldenTestsCudaEmulated : NormGoldenTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class NormGradCheckTestsCudaEmulated : NormGradCheckTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class NormBehaviourTestsCudaEmulated : NormBehaviourTests
{
    protected override Device Device => Device.CudaEmulated(0);
}
