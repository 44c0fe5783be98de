using System.Numerics;
using Framework.Backends.Cpu;
using NUnit.Framework;

namespace Framework.Tests.Cpu;

/// <summary>
/// The fused CPU norm kernels against a naive float64 reference (<see cref="NormReference"/>) on
/// small, odd and vector-width-adjacent shapes in float32 and float64, plus the numerics case, the
/// pinned vector, running statistics and the zero-sum property of dx.
/// </summary>
public unsafe class NormKernelTests
{
    private const double Eps = 1e-5;

    // [N, C, S]: S = 2, N = 1, C = 1, 3x5x7x9 (S = 63), S around the float32/float64 vector widths,
    // S = 1, and some above the parallel threshold, two of them with work ranges ending mid-plane.
    private static readonly int[][] Shapes =
    [
        [1, 1, 2], [2, 3, 2], [1, 2, 6], [3, 5, 63], [2, 3, 15], [2, 3, 16], [2, 3, 17], [1, 2, 31],
        [2, 2, 33], [3, 2, 8], [5, 3, 1], [4, 3, 4099], [2, 1, 40000], [7, 1, 10001], [5, 3, 5003],
    ];

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (int[] s in Shapes)
            foreach (bool f32 in new[] { true, false })
                yield return new TestCaseData(s[0], s[1], s[2], f32).SetArgDisplayNames($"{s[0]}x{s[1]}x{s[2]}", f32 ? "f32" : "f64");
    }

    public static IEnumerable<TestCaseData> GroupCases()
    {
        foreach (TestCaseData d in Cases())
        {
            int c = (int)d.Arguments[1]!, s = (int)d.Arguments[2]!;
            foreach (int groups in new[] { c, 1 }.Concat(c % 2 == 0 && c > 2 ? [c / 2] : []).Distinct())
                // One-element groups (S = 1, groups = C) are refused by the functional layer, so they are not a kernel case.
                if (!(s == 1 && groups == c)) yield return new TestCaseData(d.Arguments[0], c, d.Arguments[2], groups, d.Arguments[3])
                    .SetArgDisplayNames($"{d.Arguments[0]}x{c}x{d.Arguments[2]}", $"g{groups}", (bool)d.Arguments[3]! ? "f32" : "f64");
        }
    }

    private static double Tol(bool f32) => f32 ? 2e-4 : 1e-10;

    [TestCaseSource(nameof(Cases))]
    public void BatchNormForwardMatchesReference(int n, int c, int s, bool f32)
    {
        if (f32) BatchForward<float>(n, c, s, Tol(f32)); else BatchForward<double>(n, c, s, Tol(f32));
    }

    [TestCaseSource(nameof(Cases))]
    public void BatchNormBackwardMatchesReference(int n, int c, int s, bool f32)
    {
        if (f32) BatchBackward<float>(n, c, s, Tol(f32)); else BatchBackward<double>(n, c, s, Tol(f32));
    }

    [TestCaseSource(nameof(Cases))]
    public void BatchNormEvalMatchesReference(int n, int c, int s, bool f32)
    {
        if (f32) BatchEval<float>(n, c, s, Tol(f32)); else BatchEval<double>(n, c, s, Tol(f32));
    }

    [TestCaseSource(nameof(GroupCases))]
    public void GroupNormMatchesReference(int n, int c, int s, int groups, bool f32)
    {
        if (f32) Group<float>(n, c, s, groups, Tol(f32)); else Group<double>(n, c, s, groups, Tol(f32));
    }

    private static void BatchForward<T>(int n, int c, int s, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var d = new NormData(n, c, s, seed: n * 1000 + c * 100 + s);
        var r = NormReference.Forward(d.X, n, c, s, 0, d.Gamma, d.Beta, Eps);
        T[] x = d.X.To<T>(), g = d.Gamma.To<T>(), b = d.Beta.To<T>(), rm = d.RunMean.To<T>(), rv = d.RunVar.To<T>();
        T[] y = new T[x.Length], y2 = new T[x.Length], mean = new T[c], rstd = new T[c];
        T[] mean2 = new T[c], rstd2 = new T[c], rm2 = (T[])rm.Clone(), rv2 = (T[])rv.Clone();
        double f = 0.3;
        fixed (T* px = x, py = y, py2 = y2, pg = g, pb = b, pm = mean, pr = rstd, pm2 = mean2, pr2 = rstd2)
        fixed (T* prm = rm, prv = rv, prm2 = rm2, prv2 = rv2)
        {
            NormKernels.BatchNormForward(px, py, n, c, s, pg, pb, Eps, pm, pr, prm, prv, f);
            // The split path: stats (with its own running update) then apply.
            NormKernels.BatchNormStats(px, n, c, s, pm2, pr2, Eps, prm2, prv2, f);
            NormKernels.BatchNormApply(px, py2, n, c, s, pm2, pr2, pg, pb);
        }
        double m = (double)n * s;
        double[] erm = d.RunMean.Select((v, i) => (1 - f) * v + f * r.Mean[i]).ToArray();
        double[] erv = d.RunVar.Select((v, i) => (1 - f) * v + f * r.Var[i] * m / (m - 1)).ToArray();
        NormAssert.Close(r.Y, y, tol, "y");
        NormAssert.Close(r.Y, y2, tol, "y (stats + apply)");
        NormAssert.Close(r.Mean, mean, tol, "mean");
        NormAssert.Close(r.Rstd, rstd, tol, "rstd");
        Assert.That(mean2, Is.EqualTo(mean), "stats alone give the same mean");
        if (m > 1)
        {
            NormAssert.Close(erm, rm, tol, "running mean");
            NormAssert.Close(erv, rv, tol, "running var");
            Assert.That(rv2, Is.EqualTo(rv), "stats alone give the same running var");
        }
    }

    private static void BatchBackward<T>(int n, int c, int s, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var d = new NormData(n, c, s, seed: 7 + n * 1000 + c * 100 + s);
        foreach (bool affine in new[] { true, false })
        {
            double[]? gm = affine ? d.Gamma : null;
            var r = NormReference.Forward(d.X, n, c, s, 0, gm, null, Eps);
            var e = NormReference.Backward(d.X, d.Dy, n, c, s, 0, gm, r);
            T[] x = d.X.To<T>(), dy = d.Dy.To<T>(), g = d.Gamma.To<T>(), mean = r.Mean.To<T>(), rstd = r.Rstd.To<T>();
            T[] dx = new T[x.Length], dg = new T[c], db = new T[c];
            fixed (T* px = x, pdy = dy, pg = g, pm = mean, pr = rstd, pdx = dx, pdg = dg, pdb = db)
                NormKernels.BatchNormBackward(px, pdy, n, c, s, pm, pr, affine ? pg : null, pdx, pdg, pdb);
            NormAssert.Close(e.Dx, dx, tol * 10, $"dx (affine {affine})");
            NormAssert.Close(e.DGamma, dg, tol * 10, "dgamma");
            NormAssert.Close(e.DBeta, db, tol * 10, "dbeta");
        }
    }

    private static void BatchEval<T>(int n, int c, int s, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var d = new NormData(n, c, s, seed: 11 + n * 1000 + c * 100 + s);
        T[] x = d.X.To<T>(), dy = d.Dy.To<T>(), g = d.Gamma.To<T>(), b = d.Beta.To<T>(), rm = d.RunMean.To<T>(), rv = d.RunVar.To<T>();
        T[] y = new T[x.Length], dx = new T[x.Length], dg = new T[c], db = new T[c];
        fixed (T* px = x, pdy = dy, pg = g, pb = b, prm = rm, prv = rv, py = y, pdx = dx, pdg = dg, pdb = db)
        {
            NormKernels.BatchNormEval(px, py, n, c, s, prm, prv, Eps, pg, pb);
            NormKernels.BatchNormBackwardEval(px, pdy, n, c, s, prm, prv, Eps, pg, pdx, pdg, pdb);
        }
        double[] ey = new double[x.Length], edx = new double[x.Length], edg = new double[c], edb = new double[c];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / s % c;
            double r = 1 / Math.Sqrt(d.RunVar[ch] + Eps), xh = (d.X[i] - d.RunMean[ch]) * r;
            ey[i] = d.Gamma[ch] * xh + d.Beta[ch];
            edx[i] = d.Dy[i] * d.Gamma[ch] * r;
            edg[ch] += d.Dy[i] * xh;
            edb[ch] += d.Dy[i];
        }
        NormAssert.Close(ey, y, tol, "eval y");
        NormAssert.Close(edx, dx, tol, "eval dx");
        NormAssert.Close(edg, dg, tol * 10, "eval dgamma");
        NormAssert.Close(edb, db, tol * 10, "eval dbeta");
    }

    private static void Group<T>(int n, int c, int s, int groups, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var d = new NormData(n, c, s, seed: 13 + n * 1000 + c * 100 + s + groups);
        var r = NormReference.Forward(d.X, n, c, s, groups, d.Gamma, d.Beta, Eps);
        var e = NormReference.Backward(d.X, d.Dy, n, c, s, groups, d.Gamma, r);
        T[] x = d.X.To<T>(), dy = d.Dy.To<T>(), g = d.Gamma.To<T>(), b = d.Beta.To<T>();
        T[] y = new T[x.Length], mean = new T[n * groups], rstd = new T[n * groups];
        T[] dx = new T[x.Length], dg = new T[c], db = new T[c];
        fixed (T* px = x, pdy = dy, pg = g, pb = b, py = y, pm = mean, pr = rstd, pdx = dx, pdg = dg, pdb = db)
        {
            NormKernels.GroupNormForward(px, py, n, c, s, groups, pg, pb, Eps, pm, pr);
            NormKernels.GroupNormBackward(px, pdy, n, c, s, groups, pm, pr, pg, pdx, pdg, pdb);
        }
        NormAssert.Close(r.Y, y, tol, "y");
        NormAssert.Close(r.Mean, mean, tol, "mean");
        NormAssert.Close(r.Rstd, rstd, tol, "rstd");
        NormAssert.Close(e.Dx, dx, tol * 10, "dx");
        NormAssert.Close(e.DGamma, dg, tol * 10, "dgamma");
        NormAssert.Close(e.DBeta, db, tol * 10, "dbeta");
    }

    // [rows, D]: D = 2, odd, around the vector widths, above one chunk (5000) and above the parallel threshold.
    [TestCase(1, 2, true)] [TestCase(3, 15, true)] [TestCase(2, 16, false)] [TestCase(4, 17, true)]
    [TestCase(2, 33, false)] [TestCase(5, 63, true)] [TestCase(64, 1000, true)] [TestCase(2, 5000, false)]
    [TestCase(3, 5000, true)] [TestCase(64, 1000, false)]
    public void LayerNormMatchesReference(int rows, int d, bool f32)
    {
        foreach (var (affineG, affineB) in new[] { (true, true), (true, false), (false, true), (false, false) })
        {
            if (f32) Layer<float>(rows, d, affineG, affineB, Tol(f32)); else Layer<double>(rows, d, affineG, affineB, Tol(f32));
        }
    }

    private static void Layer<T>(int rows, int d, bool hasGamma, bool hasBeta, double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // LayerNorm = the reference GroupNorm with N = rows, C = D, S = 1 and one group per row.
        var data = new NormData(rows, d, 1, seed: 19 + rows * 100 + d);
        double[]? gm = hasGamma ? data.Gamma : null, bt = hasBeta ? data.Beta : null;
        var r = NormReference.Forward(data.X, rows, d, 1, 1, gm, bt, Eps);
        var e = NormReference.Backward(data.X, data.Dy, rows, d, 1, 1, gm, r);
        T[] x = data.X.To<T>(), dy = data.Dy.To<T>(), g = data.Gamma.To<T>(), b = data.Beta.To<T>();
        T[] y = new T[x.Length], mean = new T[rows], rstd = new T[rows], dx = new T[x.Length], dg = new T[d], db = new T[d];
        fixed (T* px = x, pdy = dy, pg = g, pb = b, py = y, pm = mean, pr = rstd, pdx = dx, pdg = dg, pdb = db)
        {
            NormKernels.LayerNormForward(px, py, rows, d, hasGamma ? pg : null, hasBeta ? pb : null, Eps, pm, pr);
            NormKernels.LayerNormBackward(px, pdy, rows, d, pm, pr, hasGamma ? pg : null, pdx, pdg, pdb);
        }
        string what = $"gamma {hasGamma} beta {hasBeta}: ";
        NormAssert.Close(r.Y, y, tol, what + "y");
        NormAssert.Close(r.Rstd, rstd, tol, what + "rstd");
        NormAssert.Close(e.Dx, dx, tol * 10, what + "dx");
        NormAssert.Close(e.DGamma, dg, tol * 10, what + "dgamma");
        NormAssert.Close(e.DBeta, db, tol * 10, what + "dbeta");
    }

    // Outputs of 8 MiB and more are written with streaming stores; S odd so most planes start unaligned.
    [TestCase(0)]
    [TestCase(2)]
    public void StreamedOutputsMatchReference(int groups)
    {
        const int n = 2, c = 2, s = 524_295;
        var d = new NormData(n, c, s, seed: 23);
        var r = NormReference.Forward(d.X, n, c, s, groups, d.Gamma, d.Beta, Eps);
        var e = NormReference.Backward(d.X, d.Dy, n, c, s, groups, d.Gamma, r);
        float[] x = d.X.To<float>(), dy = d.Dy.To<float>(), g = d.Gamma.To<float>(), b = d.Beta.To<float>();
        float[] y = new float[x.Length], dx = new float[x.Length], mean = new float[n * c], rstd = new float[n * c];
        float[] dg = new float[c], db = new float[c];
        fixed (float* px = x, pdy = dy, pg = g, pb = b, py = y, pdx = dx, pm = mean, pr = rstd, pdg = dg, pdb = db)
        {
            if (groups == 0)
            {
                NormKernels.BatchNormForward(px, py, n, c, s, pg, pb, Eps, pm, pr);
                NormKernels.BatchNormBackward(px, pdy, n, c, s, pm, pr, pg, pdx, pdg, pdb);
            }
            else
            {
                NormKernels.GroupNormForward(px, py, n, c, s, groups, pg, pb, Eps, pm, pr);
                NormKernels.GroupNormBackward(px, pdy, n, c, s, groups, pm, pr, pg, pdx, pdg, pdb);
            }
        }
        NormAssert.Close(r.Y, y, 2e-4, "y");
        NormAssert.Close(e.Dx, dx, 2e-3, "dx");
        NormAssert.Close(e.DGamma, dg, 2e-3, "dgamma");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LargeMeanFloat32NormalizesWithin1e3(bool instance)
    {
        const int n = 8, c = 4, s = 32 * 32;
        var d = new NormData(n, c, s, seed: 5);
        double[] xd = d.X.Select(v => (double)(float)(1e4 + v)).ToArray(); // the float32 input, exactly
        var r = NormReference.Forward(xd, n, c, s, instance ? c : 0, null, null, Eps);
        float[] x = xd.To<float>(), y = new float[x.Length];
        float[] mean = new float[n * c], rstd = new float[n * c];
        fixed (float* px = x, py = y, pm = mean, pr = rstd)
        {
            if (instance) NormKernels.InstanceNormForward(px, py, n, c, s, null, null, Eps, pm, pr);
            else NormKernels.BatchNormForward(px, py, n, c, s, null, null, Eps, pm, pr);
        }
        double worst = r.Y.Select((v, i) => Math.Abs(v - y[i])).Max();
        Assert.That(worst, Is.LessThan(1e-3));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void PinnedVectorAndZeroSumGradient(bool instance)
    {
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        float[] y = new float[12], dy = Enumerable.Repeat(1f, 12).ToArray(), dx = new float[12];
        float[] mean = new float[2], rstd = new float[2], g = [1.5f, -0.5f];
        fixed (float* px = x, py = y, pm = mean, pr = rstd, pdy = dy, pdx = dx, pg = g)
        {
            if (instance)
            {
                NormKernels.InstanceNormForward(px, py, 1, 2, 6, null, null, Eps, pm, pr);
                NormKernels.InstanceNormBackward(px, pdy, 1, 2, 6, pm, pr, pg, pdx, null, null);
            }
            else
            {
                NormKernels.BatchNormForward(px, py, 1, 2, 6, null, null, Eps, pm, pr);
                NormKernels.BatchNormBackward(px, pdy, 1, 2, 6, pm, pr, pg, pdx, null, null);
            }
        }
        double[] pinned = [-1.4638, -0.8783, -0.2928, 0.2928, 0.8783, 1.4638];
        Assert.That(y, Is.EqualTo(pinned.Concat(pinned).ToArray()).Within(1e-4));
        Assert.That(dx, Is.EqualTo(new float[12]).Within(1e-6), "d sum(y) / dx = 0");
    }

    [Test]
    public void BatchNormRunningStatsDefaultMomentum()
    {
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        float[] y = new float[12], mean = new float[2], rstd = new float[2], rm = [0, 0], rv = [1, 1];
        fixed (float* px = x, py = y, pm = mean, pr = rstd, prm = rm, prv = rv)
            NormKernels.BatchNormForward(px, py, 1, 2, 6, null, null, Eps, pm, pr, prm, prv, 0.1);
        // Each channel holds 6 consecutive integers: mean 3.5 / 9.5, unbiased variance 3.5.
        Assert.That(rm, Is.EqualTo(new[] { 0.35f, 0.95f }).Within(1e-6));
        Assert.That(rv, Is.EqualTo(new[] { 0.9f + 0.1f * 3.5f, 0.9f + 0.1f * 3.5f }).Within(1e-6));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void InstanceNormRunningStatsAverageOverBatch(bool f32)
    {
        if (f32) InstanceRunning<float>(1e-5); else InstanceRunning<double>(1e-12);
    }

    private static void InstanceRunning<T>(double tol) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int n = 3, c = 2, s = 20;
        const double f = 0.25;
        var d = new NormData(n, c, s, seed: 17);
        var r = NormReference.Forward(d.X, n, c, s, c, null, null, Eps);
        T[] x = d.X.To<T>(), y = new T[x.Length], mean = new T[n * c], rstd = new T[n * c];
        T[] rm = d.RunMean.To<T>(), rv = d.RunVar.To<T>();
        fixed (T* px = x, py = y, pm = mean, pr = rstd, prm = rm, prv = rv)
            NormKernels.InstanceNormForward(px, py, n, c, s, null, null, Eps, pm, pr, prm, prv, f);
        for (int ch = 0; ch < c; ch++)
        {
            double mu = 0, var = 0;
            for (int i = 0; i < n; i++) { mu += r.Mean[i * c + ch] / n; var += r.Var[i * c + ch] * s / (s - 1) / n; }
            Assert.That(double.CreateTruncating(rm[ch]), Is.EqualTo((1 - f) * d.RunMean[ch] + f * mu).Within(tol));
            Assert.That(double.CreateTruncating(rv[ch]), Is.EqualTo((1 - f) * d.RunVar[ch] + f * var).Within(tol));
        }
    }

    [Test]
    public void NaNStaysInItsGroup()
    {
        const int n = 2, c = 2, s = 40;
        float[] x = new NormData(n, c, s, seed: 3).X.To<float>();
        x[5] = float.NaN; // group (0, 0)
        float[] y = new float[x.Length], mean = new float[n * c], rstd = new float[n * c];
        fixed (float* px = x, py = y, pm = mean, pr = rstd)
            NormKernels.InstanceNormForward(px, py, n, c, s, null, null, Eps, pm, pr);
        Assert.That(y.Take(s).All(float.IsNaN), Is.True, "the NaN's group is NaN");
        Assert.That(y.Skip(s).All(float.IsFinite), Is.True, "other groups are untouched");
    }

    [Test]
    public void EmptyBatchLeavesRunningStatsAlone()
    {
        float[] rm = [0.5f, 0.25f], rv = [2, 3], one = new float[1];
        fixed (float* p = one, prm = rm, prv = rv)
        {
            NormKernels.BatchNormForward(p, p, 0, 2, 6, null, null, Eps, p, p, prm, prv, 0.1);
            NormKernels.BatchNormStats(p, 0, 2, 6, p, p, Eps, prm, prv, 0.1);
            NormKernels.InstanceNormForward(p, p, 0, 2, 6, null, null, Eps, p, p, prm, prv, 0.1);
        }
        Assert.That(rm, Is.EqualTo(new[] { 0.5f, 0.25f }));
        Assert.That(rv, Is.EqualTo(new[] { 2f, 3f }));
    }

    [Test]
    public void GroupsMustDivideChannels()
    {
        float[] x = new float[12];
        Assert.That(() =>
        {
            fixed (float* px = x) NormKernels.GroupNormForward<float>(px, px, 1, 3, 4, 2, null, null, Eps, null, null);
        }, Throws.ArgumentException);
    }
}

/// <summary>Random inputs in double: x ~ 0.5 + 2 randn, dy ~ randn, gamma ~ 1 + 0.2 randn, beta ~ 0.1 randn.</summary>
internal sealed class NormData
{
    public readonly double[] X, Dy, Gamma, Beta, RunMean, RunVar;

    public NormData(int n, int c, int s, int seed)
    {
        var rng = new Random(seed);
        double Randn() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        int total = n * c * s;
        X = Enumerable.Range(0, total).Select(_ => 0.5 + 2 * Randn()).ToArray();
        Dy = Enumerable.Range(0, total).Select(_ => Randn()).ToArray();
        Gamma = Enumerable.Range(0, c).Select(_ => 1 + 0.2 * Randn()).ToArray();
        Beta = Enumerable.Range(0, c).Select(_ => 0.1 * Randn()).ToArray();
        RunMean = Enumerable.Range(0, c).Select(_ => 0.1 * Randn()).ToArray();
        RunVar = Enumerable.Range(0, c).Select(_ => 1 + rng.NextDouble()).ToArray();
    }
}

/// <summary>
/// Naive float64 reference straight from NORMS.md. groups = 0 means BatchNorm (group = channel over
/// n and s); otherwise GroupNorm with that many groups per sample (groups = C is InstanceNorm).
/// </summary>
internal static class NormReference
{
    public sealed record Stats(double[] Y, double[] Mean, double[] Var, double[] Rstd);
    public sealed record Grads(double[] Dx, double[] DGamma, double[] DBeta);

    private static int GroupOf(int i, int n, int c, int s, int groups)
    {
        int plane = i / s, ch = plane % c, ni = plane / c;
        return groups == 0 ? ch : ni * groups + ch / (c / groups);
    }

    public static Stats Forward(double[] x, int n, int c, int s, int groups, double[]? gamma, double[]? beta, double eps)
    {
        int g = groups == 0 ? c : n * groups;
        double[] sum = new double[g], cnt = new double[g], sq = new double[g];
        for (int i = 0; i < x.Length; i++) { int k = GroupOf(i, n, c, s, groups); sum[k] += x[i]; cnt[k]++; }
        double[] mean = sum.Select((v, k) => v / cnt[k]).ToArray();
        for (int i = 0; i < x.Length; i++) { int k = GroupOf(i, n, c, s, groups); sq[k] += (x[i] - mean[k]) * (x[i] - mean[k]); }
        double[] var = sq.Select((v, k) => v / cnt[k]).ToArray();
        double[] rstd = var.Select(v => 1 / Math.Sqrt(v + eps)).ToArray();
        double[] y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int k = GroupOf(i, n, c, s, groups), ch = i / s % c;
            y[i] = (x[i] - mean[k]) * rstd[k] * (gamma?[ch] ?? 1) + (beta?[ch] ?? 0);
        }
        return new Stats(y, mean, var, rstd);
    }

    /// <summary>dx = rstd (g' - mean(g') - xhat mean(g' xhat)) with g' = dy gamma; dgamma = sum dy xhat; dbeta = sum dy.</summary>
    public static Grads Backward(double[] x, double[] dy, int n, int c, int s, int groups, double[]? gamma, Stats st)
    {
        int g = st.Mean.Length;
        double[] m1 = new double[g], m2 = new double[g], cnt = new double[g], dg = new double[c], db = new double[c];
        double[] xhat = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int k = GroupOf(i, n, c, s, groups), ch = i / s % c;
            xhat[i] = (x[i] - st.Mean[k]) * st.Rstd[k];
            double gp = dy[i] * (gamma?[ch] ?? 1);
            m1[k] += gp; m2[k] += gp * xhat[i]; cnt[k]++;
            dg[ch] += dy[i] * xhat[i]; db[ch] += dy[i];
        }
        double[] dx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int k = GroupOf(i, n, c, s, groups), ch = i / s % c;
            double gp = dy[i] * (gamma?[ch] ?? 1);
            dx[i] = st.Rstd[k] * (gp - m1[k] / cnt[k] - xhat[i] * m2[k] / cnt[k]);
        }
        return new Grads(dx, dg, db);
    }
}

internal static class NormAssert
{
    public static T[] To<T>(this double[] a) where T : INumberBase<T> => a.Select(T.CreateTruncating).ToArray();

    /// <summary>Worst |actual - expected| / (1 + |expected|) must stay within tol.</summary>
    public static void Close<T>(double[] expected, T[] actual, double tol, string what) where T : INumberBase<T>
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what + " length");
        double worst = 0; int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(double.CreateTruncating(actual[i]) - expected[i]) / (1 + Math.Abs(expected[i]));
            if (!(e <= worst)) { worst = e; at = i; }
        }
        Assert.That(worst, Is.LessThanOrEqualTo(tol), $"{what}: worst error at [{at}]");
    }
}
