using Framework.Tests.Nn;
using Framework.Tests.Optim;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

// The layer, loss and optimizer fixtures, unchanged, on the emulated GPU with the allocator's caching
// off (exact allocations, so the interpreter's bounds checks are exact, convolution scratch buffers
// included). Their tolerances are their own and hold here: float64 cases (gradient checks, PyTorch
// goldens at 1e-9..1e-12) see only reordered float64 sums from cuBLAS, about 1e-15 relative; float32
// goldens allow 1e-4, far above the few-ulp differences of cuBLAS's summation order and the
// f64-accumulated kernels; pooling, im2col/col2im, gather and the optimizer steps agree with the CPU
// backend bit for bit.

[TestFixture]
public class LayerGoldenTestsCudaEmulated : LayerGoldenTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class LayerGradCheckTestsCudaEmulated : LayerGradCheckTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class LayerBehaviourTestsCudaEmulated : LayerBehaviourTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class LayerBadInputTestsCudaEmulated : LayerBadInputTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class ModelGoldenTestsCudaEmulated : ModelGoldenTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class OptimGoldenTestsCudaEmulated : OptimGoldenTests
{
    protected override Device Device => Device.CudaEmulated(0);
}

[TestFixture]
public class OptimBehaviourTestsCudaEmulated : OptimBehaviourTests
{
    protected override Device Device => Device.CudaEmulated(0);
}
