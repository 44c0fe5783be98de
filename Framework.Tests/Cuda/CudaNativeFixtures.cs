using Framework.Cuda;
using Framework.Tests.Autograd;
using Framework.Tests.Ops;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The probe shared by the native fixtures: they run only where a driver and a device exist and are
/// otherwise ignored with the driver's own reason (never passing vacuously).
/// </summary>
internal static class NativeGpu
{
    private static readonly Lazy<string?> s_reason = new(() => NativeCudaDriver.Probe(0));

    /// <summary>Ignores the calling fixture when no usable GPU is present.</summary>
    public static void RequireOrIgnore()
    {
        if (s_reason.Value is { } why) Assert.Ignore($"no usable CUDA GPU: {why}");
    }
}

[TestFixture]
public class GoldenOpsTestsCuda : GoldenOpsTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class GradCheckOpsTestsCuda : GradCheckOpsTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class AutogradTestsCuda : AutogradTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class TensorApiTestsCuda : TensorApiTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class StridesAndBroadcastTestsCuda : StridesAndBroadcastTests
{
    protected override Device Device => Device.Cuda(0);
}

[TestFixture]
public class BadInputTestsCuda : BadInputTests
{
    protected override Device Device => Device.Cuda(0);
}
