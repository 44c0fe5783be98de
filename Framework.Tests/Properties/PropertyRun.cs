using System.Diagnostics;
using CsCheck;
using NUnit.Framework;

namespace Framework.Tests.Properties;

/// <summary>A property did not hold; thrown (not an NUnit assertion) so that CsCheck can shrink the case first.</summary>
internal sealed class PropertyFailure(string message) : Exception(message);

/// <summary>
/// Runs a property with CsCheck: a fixed number of cases per device, one thread (the tensor scope and
/// the emulated device are per thread), each case inside its own tensor scope. A failure shrinks to the
/// smallest failing case and CsCheck's message prints it with its seed; replay with the environment
/// variable <c>CsCheck_Seed=&lt;seed&gt;</c>. <c>FRAMEWORK_PROPERTY_CASES</c> overrides the number of cases.
/// </summary>
internal static class PropertyRun
{
    /// <summary>Cases per property on the CPU and on the emulated device by default (see Framework.Tests/README.md).</summary>
    public const int CpuCases = 1000, EmulatedCases = 300;

    public static int Cases(Device device)
    {
        if (Environment.GetEnvironmentVariable("FRAMEWORK_PROPERTY_CASES") is { Length: > 0 } s && int.TryParse(s, out int n) && n > 0) return n;
        return device.Type == DeviceType.Cpu ? CpuCases : EmulatedCases;
    }

    public static void Check<T>(Gen<T> gen, Device device, Action<T> property)
    {
        var watch = Stopwatch.StartNew();
        int cases = Cases(device);
        gen.Sample(x =>
        {
            using var scope = new TensorScope();
            property(x);
        }, writeLine: TestContext.Out.WriteLine, iter: cases, threads: 1, print: x => Print(x));
        TestContext.Out.WriteLine($"{cases} cases on {device} in {watch.Elapsed.TotalSeconds:F2} s");
    }

    /// <summary>A case as text: tuples and arrays element by element (their own ToString names only the type).</summary>
    public static string Print(object? o) => o switch
    {
        null => "null",
        string s => s,
        System.Runtime.CompilerServices.ITuple t => "(" + string.Join(", ", Enumerable.Range(0, t.Length).Select(i => Print(t[i]))) + ")",
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Print)) + "]",
        double d => d.ToString("R"),
        _ => o.ToString() ?? "",
    };

    /// <summary>Reads a tensor as float64 values.</summary>
    public static double[] Values(Tensor t) => t.To(DType.Float64).ToArray<double>();

    /// <summary>Relative and absolute tolerance of a dtype: f64 results agree to rounding, f32 to a few ulps of the sums involved.</summary>
    public static (double Rtol, double Atol) Tolerance(DType dtype) => dtype == DType.Float64 ? (1e-9, 1e-10) : (2e-4, 2e-4);

    /// <summary>Compares values with a reference; the message names what, where, the shapes and both values.</summary>
    public static void Close(Tensor actual, Ref expected, DType dtype, string what, double scale = 1)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape))
            throw new PropertyFailure($"{what}: expected shape [{string.Join(",", expected.Shape)}], got [{string.Join(",", actual.Shape)}]");
        Close(Values(actual), expected.Data, dtype, what, scale);
    }

    public static void Close(double[] actual, double[] expected, DType dtype, string what, double scale = 1)
    {
        if (actual.Length != expected.Length)
            throw new PropertyFailure($"{what}: expected {expected.Length} elements, got {actual.Length}");
        var (rtol, atol) = Tolerance(dtype);
        for (int i = 0; i < actual.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (double.IsInfinity(e) && a == e) continue;
            double tol = atol * scale + rtol * Math.Abs(e);
            if (!(Math.Abs(a - e) <= tol))
                throw new PropertyFailure($"{what}: element {i}: expected {e:R}, got {a:R} (tolerance {tol:G3})");
        }
    }

    /// <summary>
    /// The upstream gradient used for every backward: fixed, varied, nonzero values (not all ones, so a
    /// backward that ignores or misplaces the incoming gradient is caught).
    /// </summary>
    public static Ref Upstream(int[] shape)
    {
        var g = Ref.Zeros(shape);
        for (int i = 0; i < g.Numel; i++) g.Data[i] = (i * 7 % 11 - 5) / 4.0 + 0.125;
        return g;
    }

    public static Tensor ToDevice(Ref r, Device device, DType dtype)
    {
        using var host = Tensor.FromArray(r.Data, r.Shape);
        var t = host.To(dtype).To(device);
        return ReferenceEquals(t, host) ? host.Clone() : t;
    }

    /// <summary>Runs backward from <paramref name="y"/> with <see cref="Upstream"/> and checks each leaf's gradient.</summary>
    public static void CheckGrads(Tensor y, Device device, DType dtype, (Tensor Leaf, double[] Expected, string Name)[] leaves, double scale = 1)
    {
        var up = Upstream(y.Shape);
        y.Backward(ToDevice(up, device, dtype));
        foreach (var (leaf, expected, name) in leaves)
        {
            var actual = leaf.Grad is { } g ? Values(g) : new double[expected.Length];
            if (leaf.Grad is { } grad && !grad.Shape.SequenceEqual(leaf.Shape))
                throw new PropertyFailure($"grad of {name}: expected shape [{string.Join(",", leaf.Shape)}], got [{string.Join(",", grad.Shape)}]");
            Close(actual, expected, dtype, $"grad of {name}", scale);
        }
    }
}
