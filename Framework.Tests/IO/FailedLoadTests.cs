using Framework.Nn;
using Framework.Optim;
using NUnit.Framework;

namespace Framework.Tests.IO;

/// <summary>
/// Issue 10, item 5: a load that fails changes nothing. The module, optimizer and schedule are
/// snapshotted, a load is failed in each way it can fail (disposed or null tensors, names, shapes,
/// dtypes, value ranges), and the snapshot must still match; a good load afterwards still works.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class FailedLoadTests : BackendTestBase
{
    public FailedLoadTests(Device device) : base(device) { }

    private Sequential Net(ulong seed) =>
        new(
            new Conv2d(1, 2, 3, generator: new Generator(seed), device: Device),
            new BatchNorm2d(2, device: Device),
            new Flatten(),
            new Linear(2, 3, generator: new Generator(seed + 1), device: Device));

    private static Dictionary<string, double[]> Snapshot(Dictionary<string, Tensor> state)
    {
        using var scope = new TensorScope();
        return state.ToDictionary(e => e.Key, e => D(e.Value));
    }

    private static Dictionary<string, double[]> Snapshot(Module m) => Snapshot(m.StateDict());

    private static Dictionary<string, double[]> Snapshot(Optimizer o) => Snapshot(o.StateDict());

    private static void AssertSame(Dictionary<string, double[]> before, Dictionary<string, double[]> after, string what)
    {
        Assert.That(after.Keys.Order(), Is.EqualTo(before.Keys.Order()), $"{what}: keys");
        foreach (var (k, v) in before) Assert.That(after[k], Is.EqualTo(v), $"{what}: {k}");
    }

    /// <summary>A state dict of fresh tensors (not views of <paramref name="state"/>'s owner), so that disposing one harms nothing else.</summary>
    private static Dictionary<string, Tensor> Copy(Dictionary<string, Tensor> state) =>
        state.ToDictionary(e => e.Key, e => e.Value.Clone());

    [Test]
    public void ModuleLoadFailingInAnyWayChangesNothing()
    {
        using var source = Net(1);
        using var target = Net(7);
        var good = Copy(source.StateDict());
        var before = Snapshot(target);
        var keys = good.Keys.ToList();
        string last = keys[^1], floatKey = keys.First(k => k.EndsWith("weight"));

        void Rejects(Dictionary<string, Tensor> bad, string fragment, bool strict = true)
        {
            var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(bad, strict))!;
            Assert.That(e.Message, Does.Contain(fragment).And.Contain("nothing was loaded"));
            AssertSame(before, Snapshot(target), fragment);
        }

        // The case: a disposed tensor after the others used to leave the model half loaded.
        var disposed = Copy(good);
        disposed[last].Dispose();
        Rejects(disposed, "disposed");
        Rejects(new Dictionary<string, Tensor>(good) { [last] = null! }, "null");
        Rejects(new Dictionary<string, Tensor>(good) { [floatKey] = Tensor.Zeros([1], DType.Float32, Device) }, "shape");
        var w = good[floatKey];
        Rejects(new Dictionary<string, Tensor>(good) { [floatKey] = Tensor.Zeros(w.Shape, DType.Int64, Device) }, "dtype");
        var missing = new Dictionary<string, Tensor>(good);
        missing.Remove(keys[0]);
        Rejects(missing, "missing keys");
        string count = keys.First(k => k.EndsWith("num_batches_tracked"));
        foreach (long n in new[] { -1L, long.MaxValue })
            Rejects(new Dictionary<string, Tensor>(good) { [count] = Tensor.FromArray(new[] { n }, [], Device) }, "expected a count");
        Rejects(new Dictionary<string, Tensor>(good) { ["nope"] = Tensor.Zeros([1], DType.Float32, Device) }, "unexpected keys");
        // Not strict: a missing key is reported, but a disposed tensor is still refused before any write.
        var lenient = Copy(good);
        lenient.Remove(keys[0]);
        lenient[last].Dispose();
        Rejects(lenient, "disposed", strict: false);

        target.LoadStateDict(good);
        AssertSame(Snapshot(source), Snapshot(target), "the good load");
    }

    [Test]
    public void ModuleLoadFromAnotherDeviceWithADisposedTensorChangesNothing()
    {
        // The values arrive on the CPU (as from a file) and are copied to the module's device.
        using var source = Net(2);
        using var target = Net(9);
        var onCpu = source.StateDict().ToDictionary(e => e.Key, e => TensorScope.Current!.Forget(e.Value.To(Device.Cpu).Clone()));
        var before = Snapshot(target);
        onCpu[onCpu.Keys.Last()].Dispose();
        Assert.That(() => target.LoadStateDict(onCpu), Throws.ArgumentException.With.Message.Contains("disposed"));
        AssertSame(before, Snapshot(target), "after the failed load");
        foreach (var t in onCpu.Values) t.Dispose();
    }

    private (Tensor[] Params, Adam Opt) Stepped(ulong seed, double lr, int steps)
    {
        var ps = new[] { Randn(new Generator(seed), [3, 2], requiresGrad: true), Randn(new Generator(seed + 1), [4], requiresGrad: true) };
        foreach (var p in ps) TensorScope.Current!.Forget(p);
        var opt = new Adam(ps, lr);
        var g = new Generator(seed + 2);
        for (int s = 0; s < steps; s++)
        {
            foreach (var p in ps)
            {
                p.Grad?.Dispose();
                p.Grad = TensorScope.Current!.Forget(Randn(g, p.Shape));
            }
            opt.Step();
        }
        return (ps, opt);
    }

    [Test]
    public void OptimizerLoadFailingInAnyWayChangesNothing()
    {
        var (pa, optA) = Stepped(1, 0.01, 3);
        var (pb, optB) = Stepped(11, 0.02, 2);
        var good = Copy(optA.StateDict());
        var before = Snapshot(optB);

        void Rejects(Dictionary<string, Tensor> bad, string fragment)
        {
            var e = Assert.Throws<ArgumentException>(() => optB.LoadStateDict(bad))!;
            Assert.That(e.Message, Does.Contain(fragment).And.Contain("nothing was loaded"));
            AssertSame(before, Snapshot(optB), fragment);
            Assert.That(optB.ParamGroups[0].Lr, Is.EqualTo(0.02), $"{fragment}: lr");
        }

        // The case: the old state was cleared, then the copy of a disposed buffer failed.
        var disposed = Copy(good);
        disposed["state.1.exp_avg_sq"].Dispose();
        Rejects(disposed, "disposed");
        var disposedScalar = Copy(good);
        disposedScalar["param_groups.0.lr"].Dispose();
        Rejects(disposedScalar, "disposed");
        Rejects(new Dictionary<string, Tensor>(good) { ["state.0.exp_avg"] = null! }, "null");
        Rejects(new Dictionary<string, Tensor>(good) { ["state.0.exp_avg"] = Tensor.Zeros([5], DType.Float64, Device) }, "shape");
        Rejects(new Dictionary<string, Tensor>(good) { ["state.0.exp_avg"] = Tensor.Zeros([3, 2], DType.Int64, Device) }, "floating-point");
        foreach (var step in new[] { -1.0, 0.5, double.NaN, 1e300 })
            Rejects(new Dictionary<string, Tensor>(good) { ["state.0.step"] = Tensor.Scalar(step, DType.Float64) }, "state.0.step");
        Rejects(new Dictionary<string, Tensor>(good) { ["param_groups.0.lr"] = Tensor.Scalar(double.NaN, DType.Float64) }, "finite");
        Rejects(new Dictionary<string, Tensor>(good) { ["param_groups.0.lr"] = Tensor.Scalar(-1.0, DType.Float64) }, "param_groups.0");
        Rejects(new Dictionary<string, Tensor>(good) { ["state.0.bogus"] = good["state.0.exp_avg"] }, "unexpected key");
        var missing = new Dictionary<string, Tensor>(good);
        missing.Remove("state.1.exp_avg");
        Rejects(missing, "missing key");

        optB.LoadStateDict(good);
        AssertSame(Snapshot(optA), Snapshot(optB), "the good load");
        optA.Dispose();
        optB.Dispose();
        foreach (var p in pa.Concat(pb)) { p.Grad?.Dispose(); p.Dispose(); }
    }

    [Test]
    public void SchedulerLoadWithADisposedOrNullTensorChangesNothing()
    {
        var (ps, opt) = Stepped(3, 0.1, 0);
        var sched = new StepLR(opt, 2);
        sched.Step();
        sched.Step();
        var good = Copy(sched.StateDict());
        var fresh = new StepLR(opt, 2);
        int epoch = fresh.LastEpoch;
        var lr = fresh.GetLastLr().ToArray();
        foreach (var key in good.Keys)
        {
            var disposed = Copy(good);
            disposed[key].Dispose();
            Assert.That(() => fresh.LoadStateDict(disposed), Throws.ArgumentException.With.Message.Contains("disposed").And.Message.Contains("nothing was loaded"), key);
            Assert.That(() => fresh.LoadStateDict(new Dictionary<string, Tensor>(good) { [key] = null! }),
                Throws.ArgumentException.With.Message.Contains("null").And.Message.Contains("nothing was loaded"), key);
            Assert.That(fresh.LastEpoch, Is.EqualTo(epoch), key);
            Assert.That(fresh.GetLastLr(), Is.EqualTo(lr), key);
        }
        fresh.LoadStateDict(good);
        Assert.That(fresh.LastEpoch, Is.EqualTo(sched.LastEpoch));
        opt.Dispose();
        foreach (var p in ps) p.Dispose();
    }
}
