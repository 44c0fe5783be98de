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
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class LayerGradCheckTestsCudaEmulated : LayerGradCheckTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);

    /// <summary>This test's network has a BatchNorm2d: it waits for the norm kernels.</summary>
    [SetUp]
    public void NormTestNeedsNormKernels()
    {
        if (TestContext.CurrentContext.Test.MethodName == "SmallCnnGradients") NormKernels.RequireOrIgnore();
    }
}

[TestFixture]
public class LayerBehaviourTestsCudaEmulated : LayerBehaviourTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);

    /// <summary>This test builds a network with BatchNorm2d: it waits for the norm kernels.</summary>
    [SetUp]
    public void NormTestNeedsNormKernels()
    {
        if (TestContext.CurrentContext.Test.MethodName == "SequentialUsesPyTorchStateDictKeys") NormKernels.RequireOrIgnore();
    }
}

[TestFixture]
public class LayerBadInputTestsCudaEmulated : LayerBadInputTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class ModelGoldenTestsCudaEmulated : ModelGoldenTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);

    /// <summary>The model has a BatchNorm2d: it waits for the norm kernels.</summary>
    [SetUp]
    public void NeedsNormKernels() => NormKernels.RequireOrIgnore();
}

[TestFixture]
public class OptimGoldenTestsCudaEmulated : OptimGoldenTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}

[TestFixture]
public class OptimBehaviourTestsCudaEmulated : OptimBehaviourTests
{
    private bool _caching;
    protected override Device Device => Device.CudaEmulated(0);
    [OneTimeSetUp] public void ExactAllocations() => _caching = UncachedEmulatedDevice.Enter();
    [OneTimeTearDown] public void CachingBack() => UncachedEmulatedDevice.Leave(_caching);
}
