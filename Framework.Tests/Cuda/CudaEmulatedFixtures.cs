using Framework.Tests.Autograd;
using Framework.Tests.Ops;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

// The abstract fixtures, unchanged, on the emulated GPU: every op runs the real CUDA backend code and
// the handwritten PTX inside the checking interpreter, with the allocator's caching off so every
// tensor is an exact allocation and the bounds checks are exact. Float32 tolerances are the fixtures'
// own (against PyTorch; the kernels compute transcendental functions in f64 and round once, and sums
// accumulate in f64, so float32 results are at least as close as the CPU backend's).

[TestFixture]
public class GoldenOpsTestsCudaEmulated : GoldenOpsTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class GradCheckOpsTestsCudaEmulated : GradCheckOpsTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class AutogradTestsCudaEmulated : AutogradTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class TensorApiTestsCudaEmulated : TensorApiTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class StridesAndBroadcastTestsCudaEmulated : StridesAndBroadcastTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class BadInputTestsCudaEmulated : BadInputTests
{
    protected override Device Device => Device.CudaEmulated(0);
}
