using Framework.Tests.Nn;
using Framework.Tests.Optim;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

// The layer, loss and optimizer fixtures on a real GPU: run only where a driver and a device exist,
// otherwise ignored with the driver's reason (see NativeGpu). Tolerances as for the emulated device.

[TestFixture]
public class LayerGoldenTestsCuda : LayerGoldenTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();
}

[TestFixture]
public class LayerGradCheckTestsCuda : LayerGradCheckTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();

    /// <summary>This test's network has a BatchNorm2d: it waits for the norm kernels.</summary>
    [SetUp]
    public void NormTestNeedsNormKernels()
    {
        if (TestContext.CurrentContext.Test.MethodName == "SmallCnnGradients") NormKernels.RequireOrIgnore();
    }
}

[TestFixture]
public class LayerBehaviourTestsCuda : LayerBehaviourTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();

    /// <summary>This test builds a network with BatchNorm2d: it waits for the norm kernels.</summary>
    [SetUp]
    public void NormTestNeedsNormKernels()
    {
        if (TestContext.CurrentContext.Test.MethodName == "SequentialUsesPyTorchStateDictKeys") NormKernels.RequireOrIgnore();
    }
}

[TestFixture]
public class LayerBadInputTestsCuda : LayerBadInputTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();
}

[TestFixture]
public class ModelGoldenTestsCuda : ModelGoldenTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();

    /// <summary>The model has a BatchNorm2d: it waits for the norm kernels.</summary>
    [SetUp]
    public void NeedsNormKernels() => NormKernels.RequireOrIgnore();
}

[TestFixture]
public class OptimGoldenTestsCuda : OptimGoldenTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();
}

[TestFixture]
public class OptimBehaviourTestsCuda : OptimBehaviourTests
{
    protected override Device Device => Device.Cuda(0);

    [OneTimeSetUp]
    public void RequireGpu() => NativeGpu.RequireOrIgnore();
}
