using System.Text;

namespace Framework;

/// <summary>The worst disagreement found for one input of a gradient check.</summary>
/// <param name="InputIndex">Position of the input in the list passed to the check.</param>
/// <param name="ElementIndex">Flat index of the worst element.</param>
/// <param name="Analytic">The gradient from backward at that element.</param>
/// <param name="Numeric">The central-difference estimate at that element.</param>
/// <param name="AbsError">|analytic - numeric|.</param>
/// <param name="Passed">Whether every element of this input is within tolerance.</param>
public readonly record struct GradCheckInputReport(int InputIndex, long ElementIndex, double Analytic, double Numeric, double AbsError, bool Passed);

/// <summary>The result of <see cref="GradCheck.Check"/>: one report per input that requires grad.</summary>
public sealed class GradCheckResult
{
    internal GradCheckResult(IReadOnlyList<GradCheckInputReport> inputs) => Inputs = inputs;

    /// <summary>Per-input worst elements.</summary>
    public IReadOnlyList<GradCheckInputReport> Inputs { get; }

    /// <summary>True when every checked input is within tolerance.</summary>
    public bool Passed => Inputs.All(r => r.Passed);

    /// <summary>One line per input: the worst element, both gradients and the error.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Passed ? "gradcheck passed" : "gradcheck FAILED");
        foreach (var r in Inputs)
            sb.Append($"\n  input {r.InputIndex}: worst element {r.ElementIndex}: analytic {r.Analytic:G10}, numeric {r.Numeric:G10}, |diff| {r.AbsError:G3}{(r.Passed ? "" : "  <-- out of tolerance")}");
        return sb.ToString();
    }
}

/// <summary>
/// Compares the gradients that backward computes with central finite differences, in float64.
/// For a function f and a fixed random cotangent v, it checks d&lt;v, f(x)&gt;/dx elementwise:
/// analytic (one backward) against (g(x + eps e_i) - g(x - eps e_i)) / (2 eps) for every element i
/// of every input that requires grad. Use it on your own ops:
/// <code>var r = GradCheck.Check(xs => xs[0].Mul(xs[1]).Sum(), [a, b]);
/// Assert.That(r.Passed, r.ToString());</code>
/// </summary>
public static class GradCheck
{
    /// <summary>Runs the check; inputs must be float64 (float32 differences are too coarse to judge).</summary>
    /// <param name="function">The function under test; it must be deterministic.</param>
    /// <param name="inputs">Its inputs; those with RequiresGrad are checked.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance (against |numeric|).</param>
    /// <param name="seed">Seed of the random cotangent.</param>
    public static GradCheckResult Check(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].RequiresGrad && inputs[i].DType != DType.Float64)
                throw new ArgumentException($"GradCheck expected float64 inputs, input {i} is {inputs[i].DType.Name()}");
        if (!inputs.Any(t => t.RequiresGrad)) throw new ArgumentException("GradCheck: no input requires grad, nothing to check");

        using var scope = new TensorScope();
        // Work on private leaf copies so the caller's tensors and gradients are untouched.
        var leaves = inputs.Select(t =>
        {
            var c = t.Detach().Clone();
            c.RequiresGrad = t.RequiresGrad;
            return c;
        }).ToArray();

        Tensor cotangent;
        using (Tensor.NoGrad())
        {
            var probe = function(leaves);
            cotangent = Tensor.Randn(probe.Shape, new Generator(seed), DType.Float64, probe.Device);
        }
        double Objective()
        {
            using var noGrad = Tensor.NoGrad();
            using var inner = new TensorScope();
            using var y = function(leaves);
            using var prod = y.Mul(cotangent);
            return prod.Sum().Item();
        }

        var output = function(leaves);
        var loss = output.Mul(cotangent).Sum();
        loss.Backward();

        var reports = new List<GradCheckInputReport>();
        for (int i = 0; i < leaves.Length; i++)
        {
            var leaf = leaves[i];
            if (!leaf.RequiresGrad) continue;
            var analytic = leaf.Grad?.ToArray<double>() ?? new double[leaf.Numel];
            var host = leaf.ToArray<double>();
            var worst = new GradCheckInputReport(i, -1, 0, 0, 0, true);
            double worstRatio = -1;
            bool all = true;
            for (long e = 0; e < leaf.Numel; e++)
            {
                double orig = host[e];
                Set(leaf, host, e, orig + eps);
                double plus = Objective();
                Set(leaf, host, e, orig - eps);
                double minus = Objective();
                Set(leaf, host, e, orig);
                double numeric = (plus - minus) / (2 * eps);
                double err = Math.Abs(analytic[e] - numeric);
                double allowed = atol + rtol * Math.Abs(numeric);
                bool ok = err <= allowed || (double.IsNaN(err) && double.IsNaN(analytic[e]) && double.IsNaN(numeric));
                all &= ok;
                double ratio = double.IsNaN(err) ? double.PositiveInfinity : err / allowed;
                if (ratio > worstRatio)
                {
                    worstRatio = ratio;
                    worst = new GradCheckInputReport(i, e, analytic[e], numeric, err, ok);
                }
            }
            reports.Add(worst with { Passed = all });
        }
        return new GradCheckResult(reports);
    }

    // Perturbs one element by uploading the host copy, so the check runs on any device. Writes do
    // not bump the version: the objective runs without grad and nothing it saves outlives the call.
    private static void Set(Tensor leaf, double[] host, long i, double v)
    {
        host[i] = v;
        leaf.Backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()), leaf);
    }
}
