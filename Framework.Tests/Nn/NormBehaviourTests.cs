using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.Nn;

/// <summary>NORMS.md's error table, numerics case, pinned vectors, schedules and state-dict round trips.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class NormBehaviourTests : BackendTestBase
{
    public NormBehaviourTests(Device device) : base(device) { }

    private NormBase Make(string kind, int c, bool track = true, double? momentum = 0.1, DType dtype = DType.Float32, bool inplace = false, bool affine = true) =>
        kind == "BatchNorm2d"
            ? new BatchNorm2d(c, momentum: momentum, trackRunningStats: track, dtype: dtype, device: Device, inplace: inplace, affine: affine)
            : new InstanceNorm2d(c, momentum: momentum, trackRunningStats: track, dtype: dtype, device: Device, inplace: inplace, affine: affine);

    private static Tensor Fwd(NormBase m, Tensor x) => m.Forward(x);

    private static double[][] Snapshot(NormBase m) =>
        m.StateDict().OrderBy(kv => kv.Key).Select(kv => kv.Value.To(DType.Float64).ToArray<double>()).ToArray();

    private static readonly string[] s_kinds = ["BatchNorm2d", "InstanceNorm2d"];

    private void AssertRejected<TEx>(NormBase m, Tensor x, params string[] fragments) where TEx : Exception
    {
        var before = Snapshot(m);
        var ex = Assert.Throws<TEx>(() => Fwd(m, x));
        foreach (var f in fragments) Assert.That(ex!.Message, Does.Contain(f));
        Assert.That(Snapshot(m), Is.EqualTo(before), "module state changed by a rejected call");
    }

    [Test]
    public void WrongRankIsRejectedWithShape()
    {
        using var bn = Make("BatchNorm2d", 5);
        AssertRejected<ArgumentException>(bn, Tensor.Zeros([3, 5, 2], DType.Float32, Device), "expected 4D input (N, C, H, W), got 3D input [3, 5, 2]");
        using var inn = Make("InstanceNorm2d", 5, track: true);
        AssertRejected<ArgumentException>(inn, Tensor.Zeros([5, 2], DType.Float32, Device), "expected 3D (C, H, W) or 4D (N, C, H, W) input, got 2D input [5, 2]");
        AssertRejected<ArgumentException>(inn, Tensor.Zeros([1, 5, 2, 2, 2], DType.Float32, Device), "got 5D");
    }

    [TestCaseSource(nameof(s_kinds))]
    public void ChannelMismatchNamesBothNumbers(string kind)
    {
        foreach (bool affine in new[] { true, false })
            foreach (bool track in new[] { true, false })
            {
                using var m = Make(kind, 4, track: track, affine: affine);
                AssertRejected<ArgumentException>(m, Tensor.Zeros([2, 3, 2, 2], DType.Float32, Device), "expected 4 channels", "got 3 channels");
            }
    }

    [Test]
    public void BatchNormOneValuePerChannelInTrainingIsRejectedBeforeCounting()
    {
        using var bn = Make("BatchNorm2d", 3);
        AssertRejected<ArgumentException>(bn, Tensor.Ones([1, 3, 1, 1], DType.Float32, Device), "expected more than 1 value per channel when training");
        Assert.That(bn.NumBatchesTracked!.Item<long>(), Is.EqualTo(0));
        bn.Eval();
        Assert.That(Fwd(bn, Tensor.Ones([1, 3, 1, 1], DType.Float32, Device)).Shape, Is.EqualTo(new[] { 1, 3, 1, 1 }), "eval with running stats accepts it");
    }

    [Test]
    public void InstanceNormOneSpatialElementIsRejected()
    {
        using var inn = Make("InstanceNorm2d", 3, track: true);
        AssertRejected<ArgumentException>(inn, Tensor.Ones([4, 3, 1, 1], DType.Float32, Device), "expected more than 1 spatial element");
    }

    [TestCaseSource(nameof(s_kinds))]
    public void DTypeAndDeviceMismatchNameBoth(string kind)
    {
        using var m = Make(kind, 3);
        AssertRejected<ArgumentException>(m, Tensor.Zeros([2, 3, 2, 2], DType.Float64, Device), "float32", "float64");
    }

    [Test]
    public void ConstructionRejectsBadArguments()
    {
        foreach (var kind in s_kinds)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Make(kind, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => Make(kind, -2));
            Assert.Throws<ArgumentOutOfRangeException>(() => Make(kind, 3, momentum: 1.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Make(kind, 3, momentum: -0.1));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(3, eps: -1e-5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceNorm2d(3, eps: double.NaN));
    }

    [TestCaseSource(nameof(s_kinds))]
    public void EmptyBatchReturnsEmptyAndChangesNothing(string kind)
    {
        using var m = Make(kind, 3, track: true);
        var before = Snapshot(m);
        var y = Fwd(m, Tensor.Zeros([0, 3, 4, 4], DType.Float32, Device));
        Assert.That(y.Shape, Is.EqualTo(new[] { 0, 3, 4, 4 }));
        Assert.That(Snapshot(m), Is.EqualTo(before));
    }

    [TestCaseSource(nameof(s_kinds))]
    public void NaNPropagatesToItsGroupOnly(string kind)
    {
        using var m = Make(kind, 2, track: false);
        var data = Enumerable.Range(0, 16).Select(i => (double)i).ToArray();
        data[0] = double.NaN; // channel 0 of sample 0
        var y = D(Fwd(m, T(data, [2, 2, 2, 2], DType.Float32)));
        Assert.That(double.IsNaN(y[0]), Is.True);
        Assert.That(y.Skip(4).Take(4).All(double.IsFinite), Is.True, "channel 1 of sample 0 stays finite");
    }

    [TestCaseSource(nameof(s_kinds))]
    public void LargeMeanFloat32MatchesFloat64Reference(string kind)
    {
        // x = 1e4 + randn: E[x^2] - E[x]^2 would cancel catastrophically in float32.
        var g = new Generator(99);
        var x64 = Randn(g, [8, 4, 32, 32]) + 1e4;
        var x32 = x64.To(DType.Float32);
        using var m32 = Make(kind, 4);
        using var m64 = Make(kind, 4, dtype: DType.Float64);
        var y32 = D(Fwd(m32, x32));
        var reference = D(Fwd(m64, x32.To(DType.Float64)));
        double worst = y32.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(worst, Is.LessThan(1e-3));
    }

    [TestCaseSource(nameof(s_kinds))]
    public void PinnedVectorAndZeroGradientOfSum(string kind)
    {
        using var m = Make(kind, 2, dtype: DType.Float64);
        var x = T([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 2, 3], requiresGrad: true);
        var y = Fwd(m, x);
        double[] expected = [-1.4638, -0.8783, -0.2928, 0.2928, 0.8783, 1.4638];
        AssertClose(D(y), [.. expected, .. expected], 0, 5e-5, "pinned normalization");
        y.Sum().Backward();
        Assert.That(D(x.Grad!), Is.All.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void OneBatchWithDefaultMomentumGivesPointNinePlusPointOneUnbiasedVar()
    {
        using var bn = Make("BatchNorm2d", 1, dtype: DType.Float64);
        var data = new double[] { 1, 4, 2, 8, 5, 7 };
        Fwd(bn, T(data, [2, 1, 1, 3]));
        double mean = data.Average(), unbiased = data.Sum(v => (v - mean) * (v - mean)) / (data.Length - 1);
        Assert.That(D(bn.RunningVar!)[0], Is.EqualTo(0.9 + 0.1 * unbiased).Within(1e-12));
        Assert.That(D(bn.RunningMean!)[0], Is.EqualTo(0.1 * mean).Within(1e-12));
    }

    [TestCaseSource(nameof(s_kinds))]
    public void MomentumNullIsThePlainMeanOfBatchStatistics(string kind)
    {
        using var m = Make(kind, 2, momentum: null, dtype: DType.Float64);
        var g = new Generator(4);
        var means = new List<double[]>();
        var vars = new List<double[]>();
        for (int k = 0; k < 5; k++)
        {
            var x = Randn(g, [3, 2, 2, 3]) * (k + 1) + k;
            Fwd(m, x);
            bool batch = kind == "BatchNorm2d";
            int[] dims = batch ? [0, 2, 3] : [2, 3];
            var mu = x.Mean(dims);
            var v = x.Var(dims, unbiased: true);
            means.Add(batch ? D(mu) : D(mu.Mean(0)));
            vars.Add(batch ? D(v) : D(v.Mean(0)));
        }
        for (int ch = 0; ch < 2; ch++)
        {
            Assert.That(D(m.RunningMean!)[ch], Is.EqualTo(means.Average(a => a[ch])).Within(1e-12));
            Assert.That(D(m.RunningVar!)[ch], Is.EqualTo(vars.Average(a => a[ch])).Within(1e-12));
        }
        Assert.That(m.NumBatchesTracked!.Item<long>(), Is.EqualTo(5));
    }

    [Test]
    public void WarmupScheduleIsCumulativeAverageThenMomentum()
    {
        using var warm = new BatchNorm2d(1, schedule: new MomentumSchedule(1.0, 0.1), dtype: DType.Float64, device: Device);
        using var cumulative = new BatchNorm2d(1, momentum: null, dtype: DType.Float64, device: Device);
        var g = new Generator(8);
        double rm = 0;
        for (int k = 1; k <= 15; k++)
        {
            var x = Randn(g, [2, 1, 2, 2]) + k;
            warm.Forward(x);
            if (k <= 10)
            {
                cumulative.Forward(x);
                Assert.That(D(warm.RunningMean!)[0], Is.EqualTo(D(cumulative.RunningMean!)[0]).Within(1e-12), $"batch {k}");
                Assert.That(D(warm.RunningVar!)[0], Is.EqualTo(D(cumulative.RunningVar!)[0]).Within(1e-12), $"batch {k}");
                rm = D(warm.RunningMean!)[0];
            }
            else
            {
                rm = 0.9 * rm + 0.1 * x.Mean().Item();
                Assert.That(D(warm.RunningMean!)[0], Is.EqualTo(rm).Within(1e-12), $"batch {k}");
            }
        }
    }

    [Test]
    public void ScheduleResumesFromTheSavedBatchCount()
    {
        using var a = new BatchNorm2d(2, schedule: new MomentumSchedule(), device: Device);
        var g = new Generator(3);
        for (int i = 0; i < 12; i++) a.Forward(Randn(g, [2, 2, 3, 3], DType.Float32));
        using var b = new BatchNorm2d(2, schedule: new MomentumSchedule(), device: Device);
        b.LoadStateDict(a.StateDict());
        Assert.That(b.NumBatchesTracked!.Item<long>(), Is.EqualTo(12));
        var x = Randn(g, [2, 2, 3, 3], DType.Float32);
        a.Forward(x);
        b.Forward(x);
        Assert.That(D(b.RunningMean!), Is.EqualTo(D(a.RunningMean!)), "a reloaded module continues with factor 0.1, not 1");
    }

    [TestCaseSource(nameof(s_kinds))]
    public void StateDictRoundTripIsBitExact(string kind)
    {
        using var a = Make(kind, 3, track: true);
        var g = new Generator(21);
        using (Tensor.NoGrad()) { a.Weight!.CopyFrom(Randn(g, [3], DType.Float32)); a.Bias!.CopyFrom(Randn(g, [3], DType.Float32)); }
        for (int i = 0; i < 3; i++) Fwd(a, Randn(g, [2, 3, 4, 4], DType.Float32));
        var state = a.StateDict();
        Assert.That(state.Keys, Is.EquivalentTo(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }));
        Assert.That(state["num_batches_tracked"].DType, Is.EqualTo(DType.Int64));
        Assert.That(state["num_batches_tracked"].Dim, Is.EqualTo(0));
        using var b = Make(kind, 3, track: true);
        b.LoadStateDict(state);
        a.Eval();
        b.Eval();
        var x = Randn(g, [2, 3, 4, 4], DType.Float32);
        Assert.That(Fwd(b, x).ToArray<float>(), Is.EqualTo(Fwd(a, x).ToArray<float>()));
    }

    [Test]
    public void StateDictKeysFollowAffineAndTracking()
    {
        using var plain = new InstanceNorm2d(3, affine: false);
        Assert.That(plain.StateDict(), Is.Empty, "PyTorch's default InstanceNorm2d has no state");
        using var named = new BatchNorm2d(3, name: "bn1");
        Assert.That(named.StateDict().Keys, Does.Contain("bn1.running_var"));
    }

    [Test]
    public void LoadStateDictValidatesEverythingBeforeWriting()
    {
        using var a = new BatchNorm2d(3, device: Device);
        var before = Snapshot(a);
        var bad = new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.Full([3], 5, DType.Float32, Device),
            ["bias"] = Tensor.Zeros([4], DType.Float32, Device),
            ["extra"] = Tensor.Zeros([1], DType.Float32, Device),
        };
        var ex = Assert.Throws<ArgumentException>(() => a.LoadStateDict(bad));
        Assert.That(ex!.Message, Does.Contain("bias: shape [4]").And.Contain("missing keys: running_mean").And.Contain("unexpected keys: extra"));
        Assert.That(Snapshot(a), Is.EqualTo(before), "a failed load must not write weight");
        var result = a.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Tensor.Full([3], 5, DType.Float32, Device) }, strict: false);
        Assert.That(result.MissingKeys, Has.Count.EqualTo(4));
        Assert.That(D(a.Weight!), Is.All.EqualTo(5));
    }

    [TestCaseSource(nameof(s_kinds))]
    public void EmptyModuleRefusesForwardUntilLoaded(string kind)
    {
        using NormBase m = kind == "BatchNorm2d" ? new BatchNorm2d(2, empty: true, device: Device) : new InstanceNorm2d(2, empty: true, device: Device);
        var x = Tensor.Ones([2, 2, 2, 2], DType.Float32, Device);
        Assert.That(Assert.Throws<InvalidOperationException>(() => Fwd(m, x))!.Message, Does.Contain("empty"));
        using var full = Make(kind, 2, track: kind == "BatchNorm2d");
        m.LoadStateDict(full.StateDict());
        Assert.That(Fwd(m, x).Shape, Is.EqualTo(new[] { 2, 2, 2, 2 }));
    }

    [TestCaseSource(nameof(s_kinds))]
    public void InplaceOnlyInEvalAndWritesOverTheInput(string kind)
    {
        using var m = Make(kind, 2, track: kind == "BatchNorm2d", inplace: true);
        var g = new Generator(6);
        var x = Randn(g, [2, 2, 3, 3], DType.Float32);
        AssertRejected<InvalidOperationException>(m, x, "eval mode only");
        m.Eval();
        using var reference = Make(kind, 2, track: kind == "BatchNorm2d");
        reference.Eval();
        var expected = D(Fwd(reference, x));
        Tensor y;
        using (Tensor.NoGrad()) y = Fwd(m, x);
        Assert.That(y, Is.SameAs(x));
        AssertClose(D(x), expected, 1e-6, 1e-6, "in-place output");
    }

    [Test]
    public void InstanceNormAcceptsUnbatchedInput()
    {
        using var inn = Make("InstanceNorm2d", 2, track: false, dtype: DType.Float64);
        var g = new Generator(2);
        var x = Randn(g, [2, 3, 4]);
        var y = inn.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        AssertClose(D(y), D(inn.Forward(x.Unsqueeze(0)).Squeeze(0)), 0, 0, "3D equals 4D with N = 1");
    }

    [Test]
    public void InstanceNormDefaultsAreDocumentedDifferences()
    {
        using var inn = new InstanceNorm2d(3);
        Assert.That(inn.Affine, Is.True);
        Assert.That(inn.TrackRunningStats, Is.False);
        using var bn = new BatchNorm2d(3);
        Assert.That(bn.Affine && bn.TrackRunningStats, Is.True);
        Assert.That(bn.Momentum, Is.EqualTo(0.1));
        Assert.That(bn.Eps, Is.EqualTo(1e-5));
    }

    [Test]
    public void WeightInitStdGivesNormalAroundOne()
    {
        using var bn = new BatchNorm2d(4096, weightInitStd: 0.01, generator: new Generator(1));
        var w = D(bn.Weight!);
        Assert.That(w.Average(), Is.EqualTo(1).Within(0.001));
        double std = Math.Sqrt(w.Sum(v => (v - 1) * (v - 1)) / w.Length);
        Assert.That(std, Is.EqualTo(0.01).Within(0.001));
    }

    [Test]
    public void RunningBuffersNeverRequireGradAndUpdateUnderNoGrad()
    {
        using var bn = Make("BatchNorm2d", 2);
        using (Tensor.NoGrad()) Fwd(bn, Tensor.Randn([2, 2, 2, 2], new Generator(1), DType.Float32, Device));
        Assert.That(bn.RunningMean!.RequiresGrad || bn.RunningVar!.RequiresGrad, Is.False);
        Assert.That(bn.NumBatchesTracked!.Item<long>(), Is.EqualTo(1));
    }
}
