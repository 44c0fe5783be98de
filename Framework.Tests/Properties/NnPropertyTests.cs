using CsCheck;
using Framework.Nn;
using NUnit.Framework;
using static Framework.Tests.Properties.PropertyRun;

namespace Framework.Tests.Properties;

/// <summary>
/// Properties of the functional layers (linear, conv2d, max and average pooling, layer norm) and the
/// losses (MSE, cross-entropy with label smoothing, NLL) on random shapes, hyper-parameters and views,
/// values and gradients against plain-loop float64 references.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class NnPropertyTests : BackendTestBase
{
    public NnPropertyTests(Device device) : base(device) { }

    private static readonly Gen<Reduction> Reductions = Gen.OneOf(Reduction.Mean, Reduction.Sum, Reduction.None);

    /// <summary>Reduces per-element losses as the framework's Reduction says, and the factor each element's upstream gets.</summary>
    private static (Ref Loss, Func<Ref, int, double> Upstream) Reduce(double[] losses, int[] shape, Reduction reduction) => reduction switch
    {
        Reduction.None => (new Ref(shape, losses), (up, i) => up.Data[i]),
        Reduction.Sum => (new Ref([], [losses.Sum()]), (up, _) => up.Data[0]),
        _ => (new Ref([], [losses.Length == 0 ? double.NaN : losses.Average()]), (up, _) => up.Data[0] / losses.Length),
    };

    [Test]
    public void Linear()
    {
        var gen =
            from dtype in Gens.DTypes
            from batch in Gens.Shape(0, 2)
            from inF in Gen.Int[0, 6]
            from outF in Gen.Int[0, 6]
            from bias in Gen.Bool
            from x in Gens.OperandOf([.. batch, inF])
            from w in Gens.OperandOf([outF, inF])
            from b in Gens.OperandOf([outF])
            select (dtype, x, w, bias ? b : null);
        Check(gen, Device, c =>
        {
            var (dtype, x, w, b) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var (lw, vw) = w.Build(Device, dtype, true);
            var bb = b?.Build(Device, dtype, true);
            var y = F.Linear(vx, vw, bb?.View);
            Ref xr = x.Value(dtype), wr = w.Value(dtype);
            var br = b?.Value(dtype);
            int inF = wr.Shape[1], outF = wr.Shape[0], rows = Ref.Count(xr.Shape[..^1]);
            int[] shape = [.. xr.Shape[..^1], outF];
            var expected = Ref.Zeros(shape);
            var up = Upstream(shape);
            var gx = Ref.Zeros(xr.Shape);
            var gw = Ref.Zeros(wr.Shape);
            var gb = Ref.Zeros([outF]);
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < outF; o++)
                {
                    double acc = br?.Data[o] ?? 0, g = up.Data[r * outF + o];
                    for (int k = 0; k < inF; k++)
                    {
                        acc += xr.Data[r * inF + k] * wr.Data[o * inF + k];
                        gx.Data[r * inF + k] += g * wr.Data[o * inF + k];
                        gw.Data[o * inF + k] += g * xr.Data[r * inF + k];
                    }
                    expected.Data[r * outF + o] = acc;
                    gb.Data[o] += g;
                }
            Close(y, expected, dtype, "Linear", 4);
            var leaves = new List<(Tensor, double[], string)> { (lx, x.BaseGrad(gx), "input"), (lw, w.BaseGrad(gw), "weight") };
            if (bb is { } built) leaves.Add((built.Leaf, b!.BaseGrad(gb), "bias"));
            CheckGrads(y, Device, dtype, [.. leaves], 4);
        });
    }

    [Test]
    public void MseLoss()
    {
        var gen =
            from dtype in Gens.DTypes
            from shape in Gens.Shape()
            from reduction in Reductions
            from x in Gens.OperandOf(shape)
            from t in Gens.OperandOf(shape)
            select (dtype, reduction, x, t);
        Check(gen, Device, c =>
        {
            var (dtype, reduction, x, t) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var (lt, vt) = t.Build(Device, dtype, true);
            var y = F.MseLoss(vx, vt, reduction);
            Ref xr = x.Value(dtype), tr = t.Value(dtype);
            var d = xr.Data.Zip(tr.Data, (a, b) => a - b).ToArray();
            var (loss, upOf) = Reduce(d.Select(v => v * v).ToArray(), xr.Shape, reduction);
            Close(y, loss, dtype, $"MseLoss({reduction})", 4);
            var up = Upstream(loss.Shape);
            var gx = new Ref(xr.Shape, d.Select((v, i) => 2 * v * upOf(up, i)).ToArray());
            var gt = new Ref(xr.Shape, gx.Data.Select(v => -v).ToArray());
            CheckGrads(y, Device, dtype, [(lx, x.BaseGrad(gx), "input"), (lt, t.BaseGrad(gt), "target")], 4);
        });
    }

    /// <summary>Cross-entropy of logits (with label smoothing 0 or 0.1) and NLL of given log-probabilities, [N, C] against int64 targets.</summary>
    [TestCase(false), TestCase(true)]
    public void CrossEntropyAndNll(bool nll)
    {
        var gen =
            from dtype in Gens.DTypes
            from n in Gen.Int[0, 5]
            from classes in Gen.Int[1, 6]
            from reduction in Reductions
            from smoothing in nll ? Gen.Const(0.0) : Gen.OneOf(0.0, 0.1)
            from x in Gens.OperandOf([n, classes])
            from target in Gen.Int[0, classes - 1].Array[n]
            select (dtype, reduction, smoothing, x, target);
        Check(gen, Device, c =>
        {
            var (dtype, reduction, e, x, target) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var tt = Tensor.FromArray(target.Select(v => (long)v).ToArray(), [target.Length], Device);
            var y = nll ? F.NllLoss(vx, tt, reduction) : F.CrossEntropy(vx, tt, reduction, e);
            var xr = x.Value(dtype);
            int n = xr.Shape[0], k = xr.Shape[1];
            var logp = new double[xr.Numel];
            for (int i = 0; i < n; i++)
            {
                double max = Enumerable.Range(0, k).Max(j => xr.Data[i * k + j]);
                double z = Enumerable.Range(0, k).Sum(j => Math.Exp(xr.Data[i * k + j] - max));
                for (int j = 0; j < k; j++) logp[i * k + j] = nll ? xr.Data[i * k + j] : xr.Data[i * k + j] - max - Math.Log(z);
            }
            var losses = Enumerable.Range(0, n).Select(i =>
                -(1 - e) * logp[i * k + target[i]] - e / k * Enumerable.Range(0, k).Sum(j => logp[i * k + j])).ToArray();
            var (loss, upOf) = Reduce(losses, [n], reduction);
            var what = $"{(nll ? "NllLoss" : "CrossEntropy")}({reduction}, smoothing {e}) targets {{{string.Join(",", target)}}}";
            Close(y, loss, dtype, what, 4);
            var up = Upstream(loss.Shape);
            var gx = Ref.Zeros(xr.Shape);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++)
                {
                    double onehot = j == target[i] ? 1 : 0;
                    gx.Data[i * k + j] = upOf(up, i) * (nll ? -onehot : Math.Exp(logp[i * k + j]) - (1 - e) * onehot - e / k);
                }
            CheckGrads(y, Device, dtype, [(lx, x.BaseGrad(gx), "input of " + what)], 4);
        });
    }

    /// <summary>conv2d with stride, zero padding, dilation, groups and an optional bias.</summary>
    [Test]
    public void Conv2d()
    {
        var gen =
            from dtype in Gens.DTypes
            from n in Gen.Int[0, 2]
            from groups in Gen.Int[1, 2]
            from cg in Gen.Int[1, 2]
            from og in Gen.Int[1, 2]
            from kh in Gen.Int[1, 3]
            from kw in Gen.Int[1, 3]
            from stride in Gen.Int[1, 2]
            from padding in Gen.Int[0, 1]
            from dilation in Gen.Int[1, 2]
            from eh in Gen.Int[0, 3]
            from ew in Gen.Int[0, 3]
            let h = Math.Max(1, dilation * (kh - 1) + 1 - 2 * padding) + eh
            let w = Math.Max(1, dilation * (kw - 1) + 1 - 2 * padding) + ew
            from bias in Gen.Bool
            from x in Gens.OperandOf([n, groups * cg, h, w])
            from wt in Gens.OperandOf([groups * og, cg, kh, kw])
            from b in Gens.OperandOf([groups * og])
            select (dtype, groups, stride, padding, dilation, x, wt, bias ? b : null);
        Check(gen, Device, c =>
        {
            var (dtype, groups, s, p, d, x, wt, b) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var (lw, vw) = wt.Build(Device, dtype, true);
            var bb = b?.Build(Device, dtype, true);
            var y = F.Conv2d(vx, vw, bb?.View, s, p, d, groups);
            Ref xr = x.Value(dtype), wr = wt.Value(dtype);
            var br = b?.Value(dtype);
            int n = xr.Shape[0], ch = xr.Shape[1], h = xr.Shape[2], w = xr.Shape[3];
            int oc = wr.Shape[0], cg = wr.Shape[1], kh = wr.Shape[2], kw = wr.Shape[3], og = oc / groups;
            int oh = (h + 2 * p - d * (kh - 1) - 1) / s + 1, ow = (w + 2 * p - d * (kw - 1) - 1) / s + 1;
            int[] shape = [n, oc, oh, ow];
            var expected = Ref.Zeros(shape);
            var up = Upstream(shape);
            var gx = Ref.Zeros(xr.Shape);
            var gw = Ref.Zeros(wr.Shape);
            var gb = Ref.Zeros([oc]);
            for (int o = 0; o < expected.Numel; o++)
            {
                var (bi, co, yi, xi) = (o / (oc * oh * ow), o / (oh * ow) % oc, o / ow % oh, o % ow);
                double acc = br?.Data[co] ?? 0, g = up.Data[o];
                gb.Data[co] += g;
                for (int ci = 0; ci < cg; ci++)
                    for (int a = 0; a < kh; a++)
                        for (int q = 0; q < kw; q++)
                        {
                            int iy = yi * s - p + a * d, ix = xi * s - p + q * d;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            int xs = ((bi * ch + co / og * cg + ci) * h + iy) * w + ix, ws = ((co * cg + ci) * kh + a) * kw + q;
                            acc += xr.Data[xs] * wr.Data[ws];
                            gx.Data[xs] += g * wr.Data[ws];
                            gw.Data[ws] += g * xr.Data[xs];
                        }
                expected.Data[o] = acc;
            }
            var what = $"Conv2d(stride {s}, padding {p}, dilation {d}, groups {groups})";
            Close(y, expected, dtype, what, 4);
            var leaves = new List<(Tensor, double[], string)> { (lx, x.BaseGrad(gx), "input of " + what), (lw, wt.BaseGrad(gw), "weight of " + what) };
            if (bb is { } built) leaves.Add((built.Leaf, b!.BaseGrad(gb), "bias of " + what));
            CheckGrads(y, Device, dtype, [.. leaves], 4);
        });
    }

    /// <summary>Max pooling (gradient to the first maximum of each window) and average pooling with and without the padding in the divisor.</summary>
    [TestCase("Max"), TestCase("AvgIncludePad"), TestCase("AvgExcludePad")]
    public void Pool2d(string kind)
    {
        bool max = kind == "Max";
        var gen =
            from dtype in Gens.DTypes
            from n in Gen.Int[0, 2]
            from ch in Gen.Int[1, 3]
            from k in Gen.Int[1, 3]
            from stride in Gen.Int[1, 3]
            from padding in Gen.Int[0, k / 2]
            from dilation in max ? Gen.Int[1, 2] : Gen.Const(1)
            from eh in Gen.Int[0, 4]
            from ew in Gen.Int[0, 4]
            let size = Math.Max(1, dilation * (k - 1) + 1 - 2 * padding)
            from x in Gens.OperandOf([n, ch, size + eh, size + ew], max ? Gen.OneOf(Gens.Values, Gens.Ties) : Gens.Values)
            select (dtype, k, stride, padding, dilation, x);
        Check(gen, Device, c =>
        {
            var (dtype, k, s, p, d, x) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var xr = x.Value(dtype);
            int n = xr.Shape[0], ch = xr.Shape[1], h = xr.Shape[2], w = xr.Shape[3];
            int oh = (h + 2 * p - d * (k - 1) - 1) / s + 1, ow = (w + 2 * p - d * (k - 1) - 1) / s + 1;
            // A dilated window whose taps all miss the input (all padding) is refused (see F.MaxPool2d).
            bool Misses(int outputs, int size) => Enumerable.Range(0, outputs).Any(o => Enumerable.Range(0, k).All(t => o * s - p + t * d < 0 || o * s - p + t * d >= size));
            if (Misses(oh, h) || Misses(ow, w))
            {
                try { _ = F.MaxPool2d(vx, k, s, p, d); }
                catch (ArgumentException) { return; }
                throw new PropertyFailure($"MaxPool2d(kernel {k}, stride {s}, padding {p}, dilation {d}) of [{string.Join(",", xr.Shape)}]: a window lies wholly in the padding, expected ArgumentException, got a result");
            }
            var y = max ? F.MaxPool2d(vx, k, s, p, d) : F.AvgPool2d(vx, k, s, p, countIncludePad: kind == "AvgIncludePad");
            int[] shape = [n, ch, oh, ow];
            var expected = Ref.Zeros(shape);
            var up = Upstream(shape);
            var gx = Ref.Zeros(xr.Shape);
            for (int o = 0; o < expected.Numel; o++)
            {
                int plane = o / (oh * ow), yi = o / ow % oh, xi = o % ow;
                var inside = new List<int>();
                for (int a = 0; a < k; a++)
                    for (int q = 0; q < k; q++)
                    {
                        int iy = yi * s - p + a * d, ix = xi * s - p + q * d;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w) inside.Add((plane * h + iy) * w + ix);
                    }
                if (max)
                {
                    int best = inside[0];
                    foreach (int i in inside) if (xr.Data[i] > xr.Data[best]) best = i;
                    expected.Data[o] = xr.Data[best];
                    gx.Data[best] += up.Data[o];
                }
                else
                {
                    // Without ceil mode a window never leaves the padded input, so "include pad" divides by k*k.
                    int divisor = kind == "AvgIncludePad" ? k * k : inside.Count;
                    expected.Data[o] = inside.Sum(i => xr.Data[i]) / divisor;
                    foreach (int i in inside) gx.Data[i] += up.Data[o] / divisor;
                }
            }
            var what = $"{kind}Pool2d(kernel {k}, stride {s}, padding {p}, dilation {d})";
            Close(y, expected, dtype, what, 4);
            CheckGrads(y, Device, dtype, [(lx, x.BaseGrad(gx), "input of " + what)], 4);
        });
    }

    /// <summary>Layer norm over the last 1 or 2 dims, with or without the per-element affine.</summary>
    [Test]
    public void LayerNorm()
    {
        var gen =
            from dtype in Gens.DTypes
            from shape in Gens.Shape(1, 4)
            from k in Gen.Int[1, Math.Min(2, shape.Length)]
            from affine in Gen.Bool
            from x in Gens.OperandOf(shape)
            from wt in Gens.OperandOf(shape[^k..])
            from b in Gens.OperandOf(shape[^k..])
            select (dtype, k, x, affine ? wt : null, affine ? b : null);
        Check(gen, Device, c =>
        {
            var (dtype, k, x, wt, b) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var bw = wt?.Build(Device, dtype, true);
            var bb = b?.Build(Device, dtype, true);
            var xr = x.Value(dtype);
            int[] normalized = xr.Shape[^k..];
            int m = Ref.Count(normalized), groups = m == 0 ? 0 : xr.Numel / m;
            var what = $"LayerNorm([{string.Join(",", normalized)}])";
            Tensor y;
            try
            {
                y = F.LayerNorm(vx, normalized, bw?.View, bb?.View);
            }
            catch (ArgumentException) when (m == 0)
            {
                return; // nothing to normalize over: refused, as PyTorch
            }
            double[] gamma = wt?.Value(dtype).Data ?? Enumerable.Repeat(1.0, m).ToArray(), beta = b?.Value(dtype).Data ?? new double[m];
            var xhat = new double[xr.Numel];
            var rstd = new double[groups];
            for (int g = 0; g < groups; g++)
            {
                var seg = xr.Data.AsSpan(g * m, m).ToArray();
                double mu = seg.Average(), var = seg.Sum(v => (v - mu) * (v - mu)) / m;
                rstd[g] = 1 / Math.Sqrt(var + 1e-5);
                for (int j = 0; j < m; j++) xhat[g * m + j] = (seg[j] - mu) * rstd[g];
            }
            Close(y, new Ref(xr.Shape, xhat.Select((v, i) => gamma[i % m] * v + beta[i % m]).ToArray()), dtype, what, 10);
            var up = Upstream(xr.Shape);
            var gx = new double[xr.Numel];
            var gw = new double[m];
            var gb = new double[m];
            for (int g = 0; g < groups; g++)
            {
                double mg = 0, mgx = 0;
                for (int j = 0; j < m; j++)
                {
                    int i = g * m + j;
                    mg += up.Data[i] * gamma[j] / m;
                    mgx += up.Data[i] * gamma[j] * xhat[i] / m;
                    gw[j] += up.Data[i] * xhat[i];
                    gb[j] += up.Data[i];
                }
                for (int j = 0; j < m; j++)
                {
                    int i = g * m + j;
                    gx[i] = rstd[g] * (up.Data[i] * gamma[j] - mg - xhat[i] * mgx);
                }
            }
            var leaves = new List<(Tensor, double[], string)> { (lx, x.BaseGrad(new Ref(xr.Shape, gx)), "input of " + what) };
            if (bw is { } w2) leaves.Add((w2.Leaf, wt!.BaseGrad(new Ref(normalized, gw)), "weight of " + what));
            if (bb is { } b2) leaves.Add((b2.Leaf, b!.BaseGrad(new Ref(normalized, gb)), "bias of " + what));
            CheckGrads(y, Device, dtype, [.. leaves], 10);
        });
    }
}
