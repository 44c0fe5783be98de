using Framework.Backends.Cpu;
using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>
/// Issue 10, item 9: the functional norms validate like the modules (momentum in [0, 1], eps finite and
/// positive), sizes that cannot be allocated fail up front, and eval-mode messages do not say "when training".
/// Validation runs before any backend call, so the CPU covers every device.
/// </summary>
public sealed class NormValidationTests
{
    private static readonly double[] s_badEps = [-1e-5, 0, double.PositiveInfinity, double.NegativeInfinity, double.NaN];
    private static readonly double[] s_badMomentum = [5, -1, 1.0000001, double.NaN, double.PositiveInfinity];

    private static Tensor Input() => Tensor.Rand([2, 3, 4, 4], new Generator(1));

    [TestCaseSource(nameof(s_badMomentum))]
    public void FunctionalBatchNormRejectsMomentumOutsideZeroOne(double momentum)
    {
        using var x = Input();
        using var rm = Tensor.Zeros([3]);
        using var rv = Tensor.Ones([3]);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => F.BatchNorm(x, rm, rv, training: true, momentum: momentum));
        Assert.That(ex!.Message, Does.Contain("momentum in [0, 1]"));
        Assert.That(rm.ToArray<float>(), Is.All.EqualTo(0f), "running mean changed by a rejected call");
        Assert.That(rv.ToArray<float>(), Is.All.EqualTo(1f), "running var changed by a rejected call");
        using var x5 = Tensor.Rand([2, 3, 4, 4, 1], new Generator(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.InstanceNorm(x5, rm, rv, momentum: momentum));
    }

    [TestCaseSource(nameof(s_badEps))]
    public void FunctionalNormsRejectEpsThatIsNotFiniteAndPositive(double eps)
    {
        using var x = Input();
        using var rm = Tensor.Zeros([3]);
        using var rv = Tensor.Ones([3]);
        foreach (var call in new Func<Tensor>[]
                 {
                     () => F.BatchNorm(x, rm, rv, training: true, eps: eps),
                     () => F.BatchNorm(x, rm, rv, training: false, eps: eps),
                     () => F.InstanceNorm(x, eps: eps),
                     () => F.InstanceNorm(x, rm, rv, useInputStats: false, eps: eps),
                     () => F.GroupNorm(x, 3, eps: eps),
                     () => F.LayerNorm(x, [4, 4], eps: eps),
                 })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => call());
            Assert.That(ex!.Message, Does.Contain("eps to be finite and > 0"));
        }
        Assert.That(rm.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(rv.ToArray<float>(), Is.All.EqualTo(1f));
    }

    [TestCaseSource(nameof(s_badEps))]
    public void ModulesRejectEpsThatIsNotFiniteAndPositive(double eps)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(3, eps: eps));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceNorm2d(3, eps: eps));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupNorm(1, 3, eps: eps));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNorm([3], eps: eps));
    }

    [Test]
    public void ValidArgumentsStillWork()
    {
        using var x = Input();
        using var rm = Tensor.Zeros([3]);
        using var rv = Tensor.Ones([3]);
        foreach (double m in new[] { 0.0, 0.5, 1.0 })
            using (var y = F.BatchNorm(x, rm, rv, training: true, momentum: m, eps: 1e-3)) Assert.That(y.Shape, Is.EqualTo(x.Shape));
        using var g = F.GroupNorm(x, 3, eps: double.Epsilon);
        Assert.That(g.Shape, Is.EqualTo(x.Shape));
    }

    [Test]
    public void BatchNormOfIntMaxValueFeaturesFailsUpFront()
    {
        // Four float32 vectors of int.MaxValue values: 32 GiB, checked before the first is allocated.
        long needed = 4L * int.MaxValue * sizeof(float);
        if (HostMemory.Available() >= needed)
            Assert.Ignore($"this machine has {HostMemory.Available()} bytes available, enough for the {needed} bytes; the up-front refusal cannot be shown here");
        long before = MemoryStats.LiveBytes(Device.Cpu);
        var ex = Assert.Throws<OutOfMemoryException>(() => new BatchNorm2d(int.MaxValue));
        Assert.That(ex!.Message, Does.Contain("BatchNorm2d(2147483647)").And.Contain("available"));
        Assert.That(MemoryStats.LiveBytes(Device.Cpu), Is.EqualTo(before), "nothing may be allocated before the refusal");
        Assert.Throws<OutOfMemoryException>(() => new InstanceNorm2d(int.MaxValue, trackRunningStats: true));
    }

    [Test]
    public void HugeHostAllocationIsRefusedWithAMessage()
    {
        // 2^45 bytes (32 TiB) of float64 is within MaxElements but no machine of this project has it.
        long bytes = (1L << 42) * sizeof(double);
        if (HostMemory.Available() >= bytes) Assert.Ignore("this machine has 32 TiB of memory available");
        var ex = Assert.Throws<OutOfMemoryException>(() => Tensor.Empty([1 << 21, 1 << 21], DType.Float64));
        Assert.That(ex!.Message, Does.Contain("host memory"));
    }

    [Test]
    public void EvalModeWithoutRunningStatsDoesNotSayWhenTraining()
    {
        using var bn = new BatchNorm2d(3, trackRunningStats: false);
        bn.Eval();
        using var one = Tensor.Ones([1, 3, 1, 1]);
        var ex = Assert.Throws<ArgumentException>(() => bn.Forward(one));
        Assert.That(ex!.Message, Does.Contain("expected more than 1 value per channel"));
        Assert.That(ex.Message, Does.Not.Contain("when training"));
        Assert.That(ex.Message, Does.Contain("eval mode"));

        using var inn = new InstanceNorm2d(3);
        inn.Eval();
        var ex2 = Assert.Throws<ArgumentException>(() => inn.Forward(one));
        Assert.That(ex2!.Message, Does.Contain("expected more than 1 spatial element").And.Not.Contain("when training"));

        bn.Train();
        var ex3 = Assert.Throws<ArgumentException>(() => bn.Forward(one));
        Assert.That(ex3!.Message, Does.Contain("when training"), "training keeps PyTorch's words");
    }
}
