using Framework.Optim;
using NUnit.Framework;

namespace Framework.Tests.Optim;

/// <summary>State dicts (round trip, validation before writing), ZeroGrad, option checks, the parallel path, schedule resume.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class OptimBehaviourTests : BackendTestBase
{
    public OptimBehaviourTests(Device device) : base(device) { }

    private (Tensor[] Params, Func<int, Tensor[]> Grads) Problem(DType dtype = DType.Float64)
    {
        var g = new Generator(3);
        var ps = new[] { Randn(g, [4, 3], dtype, true), Randn(g, [5], dtype, true) };
        return (ps, step =>
        {
            var gg = new Generator((ulong)(100 + step));
            return ps.Select(p => Randn(gg, p.Shape, dtype)).ToArray();
        });
    }

    private static Tensor[] CloneParams(Tensor[] ps) => ps.Select(p => p.Detach().Clone().SetRequiresGrad()).ToArray();

    private static void Run(Optimizer opt, Tensor[] ps, Func<int, Tensor[]> grads, int from, int to)
    {
        for (int s = from; s < to; s++)
        {
            var gs = grads(s);
            for (int i = 0; i < ps.Length; i++) ps[i].Grad = gs[i];
            opt.Step();
        }
    }

    private static IEnumerable<Func<Tensor[], Optimizer>> Makers() =>
    [
        ps => new SGD(ps, 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        ps => new Adam(ps, 0.01, amsgrad: true, weightDecay: 0.1),
        ps => new AdamW(ps, 0.01),
    ];

    [TestCaseSource(nameof(Makers))]
    public void StateDictRoundTripContinuesIdentically(Func<Tensor[], Optimizer> make)
    {
        var (a, grads) = Problem();
        using var optA = make(a);
        Run(optA, a, grads, 0, 3);
        var b = CloneParams(a);
        using var optB = make(b);
        optB.ParamGroups[0].Lr = 123; // overwritten by the load
        optB.LoadStateDict(optA.StateDict());
        Assert.That(optB.ParamGroups[0].Lr, Is.EqualTo(optA.ParamGroups[0].Lr));
        Run(optA, a, grads, 3, 5);
        Run(optB, b, grads, 3, 5);
        for (int i = 0; i < a.Length; i++) Assert.That(D(b[i]), Is.EqualTo(D(a[i])), $"param {i}");
    }

    [Test]
    public void BadStateDictIsRejectedWithoutChangingAnything()
    {
        var (a, grads) = Problem();
        using var optA = new Adam(a, 0.01);
        Run(optA, a, grads, 0, 2);
        var good = optA.StateDict();
        var b = CloneParams(a);
        using var optB = new Adam(b, 0.02);
        void Rejects(Dictionary<string, Tensor> bad, string fragment)
        {
            var e = Assert.Throws<ArgumentException>(() => optB.LoadStateDict(bad))!;
            Assert.That(e.Message, Does.Contain(fragment).And.Contain("nothing was loaded"));
            Assert.That(optB.StateDict().Keys.Any(k => k.StartsWith("state.")), Is.False, "no state was written");
            Assert.That(optB.ParamGroups[0].Lr, Is.EqualTo(0.02), "no option was written");
        }
        var wrongShape = new Dictionary<string, Tensor>(good) { ["state.1.exp_avg"] = T(new double[4], [4]) };
        Rejects(wrongShape, "state.1.exp_avg");
        var missing = new Dictionary<string, Tensor>(good);
        missing.Remove("state.0.exp_avg_sq");
        Rejects(missing, "missing key \"state.0.exp_avg_sq\"");
        var extra = new Dictionary<string, Tensor>(good) { ["state.0.momentum_buffer"] = good["state.0.exp_avg"] };
        Rejects(extra, "unexpected key \"state.0.momentum_buffer\"");
        var tooMany = new Dictionary<string, Tensor>(good) { ["state.7.step"] = good["state.0.step"] };
        Rejects(tooMany, "state.7.step");
        var badGroup = new Dictionary<string, Tensor>(good) { ["param_groups.0.beta1"] = Tensor.Scalar(1.5, DType.Float64) };
        Rejects(badGroup, "beta1");
        var badIds = new Dictionary<string, Tensor>(good) { ["param_groups.0.params"] = Tensor.FromArray(new long[] { 0 }) };
        Rejects(badIds, "param_groups.0.params");
    }

    [Test]
    public void ZeroGradDropsOrZeroesGradients()
    {
        var (ps, grads) = Problem();
        using var opt = new SGD(ps, 0.1);
        Run(opt, ps, grads, 0, 1);
        opt.ZeroGrad(setToNone: false);
        Assert.That(D(ps[0].Grad!).All(v => v == 0), Is.True);
        opt.ZeroGrad();
        Assert.That(ps.All(p => p.Grad is null), Is.True);
        var before = D(ps[0]);
        opt.Step(); // parameters without gradients are skipped
        Assert.That(D(ps[0]), Is.EqualTo(before));
    }

    [Test]
    public void BadOptionsAndGradientsAreClearErrors()
    {
        var (ps, _) = Problem();
        Assert.That(() => new SGD(ps, 0.1, momentum: 0.9, dampening: 0.1, nesterov: true), Throws.ArgumentException.With.Message.Contains("nesterov"));
        Assert.That(() => new Adam(ps, lr: -1), Throws.ArgumentException.With.Message.Contains("lr >= 0"));
        Assert.That(() => new Adam(ps, beta2: 1), Throws.ArgumentException.With.Message.Contains("beta2"));
        Assert.That(() => new SGD([ps[0], ps[0]], 0.1), Throws.ArgumentException.With.Message.Contains("more than one place"));
        using var opt = new SGD(ps, 0.1);
        Assert.That(() => opt.AddParamGroup([ps[1]]), Throws.ArgumentException);
        Assert.That(() => opt.ParamGroups[0]["betas"] = 1, Throws.TypeOf<KeyNotFoundException>());
        ps[0].Grad = T(new double[3], [3]);
        Assert.That(() => opt.Step(), Throws.InvalidOperationException.With.Message.Contains("does not match its parameter"));
    }

    [Test]
    public void ParallelPathMatchesSerialChunks([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        // 3 * 2^15 + 37 elements: above the parallel threshold, chunk boundaries plus a ragged tail.
        const int n = 3 * (1 << 15) + 37, piece = 1000;
        var g = new Generator(9);
        var big = Randn(g, [n], dtype, true);
        var pieces = Enumerable.Range(0, (n + piece - 1) / piece)
            .Select(k => big.Detach().Narrow(0, k * piece, Math.Min(piece, n - k * piece)).Clone().SetRequiresGrad()).ToArray();
        using var optBig = new AdamW(new[] { big }, 0.01, amsgrad: true);
        using var optPieces = new AdamW(pieces, 0.01, amsgrad: true);
        for (int s = 0; s < 3; s++)
        {
            var grad = Randn(g, [n], dtype);
            big.Grad = grad;
            for (int k = 0; k < pieces.Length; k++) pieces[k].Grad = grad.Narrow(0, k * piece, pieces[k].Size(0)).Clone();
            optBig.Step();
            optPieces.Step();
        }
        var joined = Tensor.Cat(pieces.Select(p => p.Detach()).ToList());
        Assert.That(D(big), Is.EqualTo(D(joined)));
    }

    [Test]
    public void NonContiguousGradientIsUsed()
    {
        var p = T([1.0, 2, 3, 4, 5, 6], [2, 3], requiresGrad: true);
        using var opt = new SGD([p], 1);
        p.Grad = T([1.0, 2, 3, 4, 5, 6], [3, 2]).Transpose(0, 1);
        opt.Step();
        Assert.That(D(p), Is.EqualTo(new[] { 0.0, -1, -2, 2, 1, 0 }));
    }

    [Test]
    public void SchedulesScaleEveryGroupFromItsOwnInitialLr()
    {
        var (ps, _) = Problem();
        using var opt = new SGD([ps[0]], 0.1);
        opt.AddParamGroup([ps[1]], new Dictionary<string, double> { ["lr"] = 0.02 });
        var sched = new StepLR(opt, stepSize: 2, gamma: 0.5);
        for (int e = 0; e < 4; e++) sched.Step();
        Assert.That(sched.GetLastLr(), Is.EqualTo(new[] { 0.025, 0.005 }).Within(1e-15));
        Assert.That(opt.ParamGroups.Select(g => g["initial_lr"]), Is.EqualTo(new[] { 0.1, 0.02 }));
        Assert.That(opt.StateDict().ContainsKey("param_groups.1.initial_lr"), Is.True);
    }

    [Test]
    public void ScheduleResumesFromItsStateDict()
    {
        var p = T([0.0], [1], requiresGrad: true);
        using var opt = new SGD([p], 0.1);
        var sched = new CosineAnnealingLR(opt, tMax: 6, etaMin: 0.001);
        for (int e = 0; e < 3; e++) sched.Step();
        var optState = opt.StateDict();
        var schedState = sched.StateDict();
        var q = T([0.0], [1], requiresGrad: true);
        using var opt2 = new SGD([q], 0.5);
        opt2.LoadStateDict(optState);
        var resumed = new CosineAnnealingLR(opt2, tMax: 6, etaMin: 0.001, lastEpoch: 2);
        resumed.LoadStateDict(schedState);
        for (int e = 0; e < 5; e++)
        {
            sched.Step();
            resumed.Step();
            Assert.That(resumed.GetLastLr()[0], Is.EqualTo(sched.GetLastLr()[0]).Within(1e-15), $"epoch {sched.LastEpoch}");
        }
        Assert.That(() => new StepLR(new SGD([q], 0.1), 2, lastEpoch: 4), Throws.ArgumentException.With.Message.Contains("initial_lr"));
    }
}
