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
}

[TestFixture]
public class LayerGradCheckTestsCuda : LayerGradCheckTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class LayerBehaviourTestsCuda : LayerBehaviourTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class LayerBadInputTestsCuda : LayerBadInputTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class ModelGoldenTestsCuda : ModelGoldenTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class OptimGoldenTestsCuda : OptimGoldenTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class OptimBehaviourTestsCuda : OptimBehaviourTests
{
    protected override Device Device => Device.Cuda(0);
}
