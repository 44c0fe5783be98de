using Framework.IO;
using Framework.Optim;
using NUnit.Framework;
using static Framework.Tests.IO.SafetensorsTests;

namespace Framework.Tests.IO;

/// <summary>Checkpoints with model, optimizer and schedule state: round trip, and no partial load when any part is wrong.</summary>
[TestFixture]
public class CheckpointTests : TempDirectoryTestBase
{
    private static double[] D(Tensor t) => t.To(DType.Float64).ToArray<double>();

    private static (TwoNorms Net, Adam Opt, CosineAnnealingLR Sched) Trained(int steps)
    {
        var net = new TwoNorms();
        var opt = new Adam(net.Parameters(), 0.01);
        var sched = new CosineAnnealingLR(opt, 10);
        var g = new Generator(5);
        for (int s = 0; s < steps; s++)
        {
            foreach (var p in net.Parameters()) p.Grad = Tensor.Randn(p.Shape, g);
            opt.Step();
            sched.Step();
        }
        using (Tensor.NoGrad()) net.StateDict()["bn.running_mean"].FillInPlace(0.25);
        return (net, opt, sched);
    }

    [Test]
    public void RoundTripRestoresModelOptimizerAndSchedule()
    {
        var (net, opt, sched) = Trained(3);
        var path = Path.Combine(Dir, "c.safetensors");
        Checkpoint.Save(path, net, opt, sched, new Dictionary<string, string> { ["epoch"] = "3" });
        using var net2 = new TwoNorms();
        using var opt2 = new Adam(net2.Parameters(), 0.5);
        var sched2 = new CosineAnnealingLR(opt2, 10);
        var meta = Checkpoint.Load(path, net2, opt2, sched2);
        Assert.That(meta["epoch"], Is.EqualTo("3"));
        Assert.That(meta["optimizer"], Is.EqualTo("Adam"));
        foreach (var (k, v) in net.StateDict()) Assert.That(D(net2.StateDict()[k]), Is.EqualTo(D(v)), k);
        var s1 = opt.StateDict();
        var s2 = opt2.StateDict();
        Assert.That(s2.Keys.Order(), Is.EqualTo(s1.Keys.Order()));
        foreach (var (k, v) in s1) Assert.That(D(s2[k]), Is.EqualTo(D(v)), k);
        Assert.That(sched2.LastEpoch, Is.EqualTo(3));
        sched.Step();
        sched2.Step();
        Assert.That(sched2.GetLastLr(), Is.EqualTo(sched.GetLastLr()));
        // The weights alone load with the module helper (optimizer keys are not the module's).
        using var net3 = new TwoNorms();
        Assert.That(() => Checkpoint.Load(path, net3), Throws.Nothing);
        net.Dispose();
        opt.Dispose();
    }

    [Test]
    public void MismatchedOptimizerStateLeavesEverythingUntouched()
    {
        var (net, opt, _) = Trained(2);
        var path = Path.Combine(Dir, "c.safetensors");
        Checkpoint.Save(path, net, opt);
        using var net2 = new TwoNorms();
        var before = net2.StateDict().ToDictionary(e => e.Key, e => D(e.Value));
        using var sgd = new SGD(net2.Parameters(), 0.1, momentum: 0.9);
        Assert.That(() => Checkpoint.Load(path, net2, sgd), Throws.ArgumentException.With.Message.Contains("nothing was loaded"));
        using var noSched = new Adam(net2.Parameters(), 0.1);
        Assert.That(() => Checkpoint.Load(path, net2, noSched, new StepLR(noSched, 2)), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("no schedule state"));
        foreach (var (k, v) in net2.StateDict()) Assert.That(D(v), Is.EqualTo(before[k]), k);
        Assert.That(sgd.StateDict().Keys.Any(k => k.StartsWith("state.")), Is.False);
        net.Dispose();
        opt.Dispose();
    }

    [Test]
    public void ModuleFailureAfterTheOptimizerWasPreparedChangesAndKeepsNothing()
    {
        // The optimizer's new state is built before the module is checked; a module that then
        // refuses (here: one of its own buffers is disposed) must leave the optimizer and schedule
        // as they were and free the buffers that were built for them.
        var (net, opt, sched) = Trained(2);
        var path = Path.Combine(Dir, "c.safetensors");
        Checkpoint.Save(path, net, opt, sched);
        using var net2 = new TwoNorms();
        using var opt2 = new Adam(net2.Parameters(), 0.5);
        var sched2 = new CosineAnnealingLR(opt2, 10);
        net2.NamedBuffers().First(b => b.Name == "inorm.running_var").Buffer.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long tensors = MemoryStats.LiveTensors(Device.Cpu), storages = MemoryStats.LiveStorages(Device.Cpu);
        Assert.That(() => Checkpoint.Load(path, net2, opt2, sched2),
            Throws.ArgumentException.With.Message.Contains("inorm.running_var").And.Message.Contains("nothing was loaded"));
        Assert.That(MemoryStats.LiveTensors(Device.Cpu), Is.EqualTo(tensors), "live tensors");
        Assert.That(MemoryStats.LiveStorages(Device.Cpu), Is.EqualTo(storages), "live storages");
        Assert.That(opt2.StateDict().Keys.Any(k => k.StartsWith("state.")), Is.False, "no optimizer state was written");
        Assert.That(opt2.ParamGroups[0].Lr, Is.EqualTo(0.5), "no hyperparameter was written");
        Assert.That(sched2.LastEpoch, Is.EqualTo(0), "the schedule did not move");
        net.Dispose();
        opt.Dispose();
    }

    private sealed class Reserved : Framework.Nn.Module
    {
        public Reserved() => RegisterModule(new Framework.Nn.BatchNorm2d(2), "optimizer");
    }

    [Test]
    public void ModuleKeysMayNotUseTheReservedPrefixes()
    {
        using var net = new Reserved();
        var path = Path.Combine(Dir, "r.safetensors");
        Assert.That(() => Checkpoint.Save(path, net), Throws.ArgumentException.With.Message.Contains("reserved prefixes"));
        Assert.That(File.Exists(path), Is.False);
    }
}
