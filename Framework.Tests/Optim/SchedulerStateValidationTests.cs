using Framework.Optim;
using NUnit.Framework;

namespace Framework.Tests.Optim;

/// <summary>Issue 10 item 7: a schedule's saved learning rates are validated (finite, >= 0) before anything is loaded.</summary>
[TestFixture]
public class SchedulerStateValidationTests
{
    private static LRScheduler Make(string kind, Optimizer opt) => kind switch
    {
        "cosine" => new CosineAnnealingLR(opt, 10),
        _ => new StepLR(opt, 2, 0.5),
    };

    [Test]
    public void NaNInfiniteOrNegativeLearningRatesAreRejectedAndNothingChanges(
        [Values("cosine", "step")] string kind,
        [Values("base_lrs", "last_lr")] string key,
        [Values(double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.5)] double bad)
    {
        using var scope = new TensorScope();
        var w = Tensor.Zeros([2]).SetRequiresGrad();
        using var opt = new SGD([w], 0.1);
        var sched = Make(kind, opt);
        sched.Step();
        var state = sched.StateDict();
        state[key] = Tensor.FromArray(new[] { bad });
        var (epoch, bases, lasts) = (sched.LastEpoch, sched.BaseLrs.ToArray(), sched.GetLastLr());
        Assert.That(() => sched.LoadStateDict(state),
            Throws.ArgumentException.With.Message.Contains("finite learning rates >= 0").And.Message.Contains("nothing was loaded"));
        Assert.That(sched.LastEpoch, Is.EqualTo(epoch));
        Assert.That(sched.BaseLrs, Is.EqualTo(bases));
        Assert.That(sched.GetLastLr(), Is.EqualTo(lasts));
    }

    [Test]
    public void ZeroAndOrdinaryLearningRatesStillLoad([Values("cosine", "step")] string kind)
    {
        using var scope = new TensorScope();
        var w = Tensor.Zeros([2]).SetRequiresGrad();
        using var opt = new SGD([w], 0.1);
        var sched = Make(kind, opt);
        sched.Step();
        var state = sched.StateDict();
        state["last_lr"] = Tensor.FromArray(new[] { 0.0 });
        sched.LoadStateDict(state);
        Assert.That(sched.GetLastLr(), Is.EqualTo(new[] { 0.0 }));
    }
}
