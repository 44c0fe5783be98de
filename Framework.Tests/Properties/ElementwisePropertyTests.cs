using CsCheck;
using NUnit.Framework;
using static Framework.Tests.Properties.PropertyRun;

namespace Framework.Tests.Properties;

/// <summary>
/// Properties of the elementwise ops (unary, scalar, binary with broadcasting, comparisons, where) on
/// random shapes and views, values and gradients against the float64 reference.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class ElementwisePropertyTests : BackendTestBase
{
    public ElementwisePropertyTests(Device device) : base(device) { }

    private sealed record UnaryOp(string Name, Func<Tensor, Tensor> F, Func<double, double> Ref, Func<double, double> Deriv, Gen<double> Domain);

    private static readonly UnaryOp[] s_unary =
    [
        new("Neg", x => -x, x => -x, _ => -1, Gens.Values),
        new("Exp", x => x.Exp(), Math.Exp, Math.Exp, Gens.Values),
        new("Log", x => x.Log(), Math.Log, x => 1 / x, Gens.Positive),
        new("Sqrt", x => x.Sqrt(), Math.Sqrt, x => 0.5 / Math.Sqrt(x), Gens.Positive),
        new("Rsqrt", x => x.Rsqrt(), x => 1 / Math.Sqrt(x), x => -0.5 * Math.Pow(x, -1.5), Gens.Positive),
        new("Pow2", x => x.Pow(2), x => x * x, x => 2 * x, Gens.Values),
        new("Pow3", x => x.Pow(3), x => x * x * x, x => 3 * x * x, Gens.Values),
        new("PowHalf", x => x.Pow(0.5), Math.Sqrt, x => 0.5 / Math.Sqrt(x), Gens.Positive),
        new("PowNeg1_5", x => x.Pow(-1.5), x => Math.Pow(x, -1.5), x => -1.5 * Math.Pow(x, -2.5), Gens.Positive),
        new("Abs", x => x.Abs(), Math.Abs, x => Math.Sign(x), Gens.Values),
        new("Clamp", x => x.Clamp(-0.5, 0.7), x => Math.Min(Math.Max(x, -0.5), 0.7), x => x >= -0.5 && x <= 0.7 ? 1 : 0, Gens.Values),
        new("ClampMin", x => x.Clamp(min: 0.1), x => Math.Max(x, 0.1), x => x >= 0.1 ? 1 : 0, Gens.Values),
        new("Relu", x => x.Relu(), x => Math.Max(x, 0), x => x > 0 ? 1 : 0, Gens.Values),
        new("LeakyRelu", x => x.LeakyRelu(0.2), x => x > 0 ? x : 0.2 * x, x => x > 0 ? 1 : 0.2, Gens.Values),
        new("Sigmoid", x => x.Sigmoid(), x => 1 / (1 + Math.Exp(-x)), x => Math.Exp(-x) / Math.Pow(1 + Math.Exp(-x), 2), Gens.Values),
        new("Tanh", x => x.Tanh(), Math.Tanh, x => 1 - Math.Tanh(x) * Math.Tanh(x), Gens.Values),
        new("AddScalar", x => x + 2.5, x => x + 2.5, _ => 1, Gens.Values),
        new("SubScalar", x => x - 0.75, x => x - 0.75, _ => 1, Gens.Values),
        new("MulScalar", x => x * -1.5, x => x * -1.5, _ => -1.5, Gens.Values),
        new("DivScalar", x => x / 4.0, x => x / 4.0, _ => 0.25, Gens.Values),
        new("RSubScalar", x => 2.5 - x, x => 2.5 - x, _ => -1, Gens.Values),
        new("RDivScalar", x => 3.0 / x, x => 3.0 / x, x => -3.0 / (x * x), Gens.Positive),
        new("Contiguous", x => x.Contiguous(), x => x, _ => 1, Gens.Values),
        new("Clone", x => x.Clone(), x => x, _ => 1, Gens.Values),
        new("View", x => x, x => x, _ => 1, Gens.Values),
        new("Flatten", x => x.Flatten(), x => x, _ => 1, Gens.Values),
    ];

    public static IEnumerable<string> UnaryNames() => s_unary.Select(o => o.Name);

    [TestCaseSource(nameof(UnaryNames))]
    public void Unary(string name)
    {
        var op = s_unary.First(o => o.Name == name);
        var gen = from dtype in Gens.DTypes from shape in Gens.Shape() from x in Gens.OperandOf(shape, op.Domain) select (dtype, x);
        Check(gen, Device, c =>
        {
            var (dtype, x) = c;
            var (leaf, view) = x.Build(Device, dtype, requiresGrad: true);
            var y = op.F(view);
            var xr = x.Value(dtype);
            var expected = xr.Map(op.Ref);
            if (name == "Flatten") expected = new Ref([xr.Numel], expected.Data);
            Close(y, expected, dtype, name);
            var up = Upstream(y.Shape);
            var gx = new Ref(xr.Shape, xr.Data.Select((v, i) => up.Data[i] * op.Deriv(v)).ToArray());
            CheckGrads(y, Device, dtype, [(leaf, x.BaseGrad(gx), "x")]);
        });
    }

    private sealed record BinaryOp(string Name, Func<Tensor, Tensor, Tensor> F, Func<double, double, double> Ref,
        Func<double, double, double> Da, Func<double, double, double> Db, Gen<double> BDomain);

    private static readonly BinaryOp[] s_binary =
    [
        new("Add", (a, b) => a + b, (a, b) => a + b, (_, _) => 1, (_, _) => 1, Gens.Values),
        new("Sub", (a, b) => a - b, (a, b) => a - b, (_, _) => 1, (_, _) => -1, Gens.Values),
        new("Mul", (a, b) => a * b, (a, b) => a * b, (_, b) => b, (a, _) => a, Gens.Values),
        new("Div", (a, b) => a / b, (a, b) => a / b, (_, b) => 1 / b, (a, b) => -a / (b * b), Gens.Positive),
        // Ties (equal elements) split the gradient in halves, as PyTorch does.
        new("Maximum", (a, b) => a.Maximum(b), Math.Max, (a, b) => a > b ? 1 : a == b ? 0.5 : 0, (a, b) => b > a ? 1 : a == b ? 0.5 : 0, Gens.Values),
        new("Minimum", (a, b) => a.Minimum(b), Math.Min, (a, b) => a < b ? 1 : a == b ? 0.5 : 0, (a, b) => b < a ? 1 : a == b ? 0.5 : 0, Gens.Values),
    ];

    public static IEnumerable<string> BinaryNames() => s_binary.Select(o => o.Name);

    /// <summary>Two operands whose shapes broadcast to a random shape (either may be the larger one).</summary>
    private static Gen<(DType, Operand, Operand)> Pair(Gen<double> aValues, Gen<double> bValues) =>
        from dtype in Gens.DTypes
        from shape in Gens.Shape()
        from sa in Gens.BroadcastTo(shape)
        from sb in Gens.BroadcastTo(shape)
        from a in Gens.OperandOf(sa, aValues)
        from b in Gens.OperandOf(sb, bValues)
        select (dtype, a, b);

    [TestCaseSource(nameof(BinaryNames))]
    public void Binary(string name)
    {
        var op = s_binary.First(o => o.Name == name);
        // Maximum and minimum also meet ties, where the gradient rule matters.
        var aValues = name is "Maximum" or "Minimum" ? Gen.OneOf(Gens.Values, Gens.Ties) : Gens.Values;
        Check(Pair(aValues, name is "Maximum" or "Minimum" ? aValues : op.BDomain), Device, c =>
        {
            var (dtype, a, b) = c;
            var (la, va) = a.Build(Device, dtype, true);
            var (lb, vb) = b.Build(Device, dtype, true);
            var y = op.F(va, vb);
            Ref ar = a.Value(dtype), br = b.Value(dtype);
            var expected = Ref.Zip(ar, br, op.Ref);
            Close(y, expected, dtype, name);
            var up = Upstream(expected.Shape);
            var ga = Ref.Unbroadcast(up, ar.Shape, i => Deriv(op.Da, i));
            var gb = Ref.Unbroadcast(up, br.Shape, i => Deriv(op.Db, i));
            CheckGrads(y, Device, dtype, [(la, a.BaseGrad(ga), "a"), (lb, b.BaseGrad(gb), "b")], scale: 4);

            double Deriv(Func<double, double, double> d, int i)
            {
                var idx = Ref.Unravel(i, expected.Shape);
                return d(ar.Data[Ref.BroadcastSource(idx, ar.Shape)], br.Data[Ref.BroadcastSource(idx, br.Shape)]);
            }
        });
    }

    private static readonly (string Name, Func<Tensor, Tensor, Tensor> F, Func<Tensor, double, Tensor> S, Func<double, double, bool> Ref)[] s_compare =
    [
        ("Eq", (a, b) => a.Eq(b), (a, v) => a.Eq(v), (a, b) => a == b),
        ("Ne", (a, b) => a.Ne(b), (a, v) => a.Ne(v), (a, b) => a != b),
        ("Lt", (a, b) => a.Lt(b), (a, v) => a.Lt(v), (a, b) => a < b),
        ("Le", (a, b) => a.Le(b), (a, v) => a.Le(v), (a, b) => a <= b),
        ("Gt", (a, b) => a.Gt(b), (a, v) => a.Gt(v), (a, b) => a > b),
        ("Ge", (a, b) => a.Ge(b), (a, v) => a.Ge(v), (a, b) => a >= b),
    ];

    public static IEnumerable<string> CompareNames() => s_compare.Select(o => o.Name);

    /// <summary>Comparisons with a tensor (broadcast) and with a scalar: 1/0 in the inputs' dtype, never requiring grad.</summary>
    [TestCaseSource(nameof(CompareNames))]
    public void Comparison(string name)
    {
        var op = s_compare.First(o => o.Name == name);
        Check(from p in Pair(Gens.Ties, Gens.Ties) from v in Gens.Ties select (p.Item1, p.Item2, p.Item3, v), Device, c =>
        {
            var (dtype, a, b, v) = c;
            var (_, va) = a.Build(Device, dtype, true);
            var (_, vb) = b.Build(Device, dtype, false);
            Ref ar = a.Value(dtype), br = b.Value(dtype);
            var y = op.F(va, vb);
            if (y.RequiresGrad || y.DType != dtype) throw new PropertyFailure($"{name}: expected a {dtype} result that does not require grad, got {y.DType}, requiresGrad {y.RequiresGrad}");
            Close(y, Ref.Zip(ar, br, (x, z) => op.Ref(x, z) ? 1 : 0), dtype, name);
            Close(op.S(va, v), ar.Map(x => op.Ref(x, v) ? 1 : 0), dtype, name + " scalar");
        });
    }

    /// <summary>where(a &gt; 0, b, c) with all three broadcasting to one shape; the gradient goes to the chosen side.</summary>
    [Test]
    public void Where()
    {
        var gen =
            from dtype in Gens.DTypes
            from shape in Gens.Shape()
            from sc in Gens.BroadcastTo(shape)
            from sa in Gens.BroadcastTo(shape)
            from sb in Gens.BroadcastTo(shape)
            from cond in Gens.OperandOf(sc, Gens.Ties)
            from a in Gens.OperandOf(sa)
            from b in Gens.OperandOf(sb)
            select (dtype, cond, a, b);
        Check(gen, Device, c =>
        {
            var (dtype, cond, a, b) = c;
            var (_, vc) = cond.Build(Device, dtype, false);
            var (la, va) = a.Build(Device, dtype, true);
            var (lb, vb) = b.Build(Device, dtype, true);
            var y = Tensor.Where(vc.Gt(0), va, vb);
            Ref cr = cond.Value(dtype), ar = a.Value(dtype), br = b.Value(dtype);
            var shape = Ref.Broadcast(Ref.Broadcast(cr.Shape, ar.Shape)!, br.Shape)!;
            var expected = Ref.Zeros(shape);
            for (int i = 0; i < expected.Numel; i++)
            {
                var idx = Ref.Unravel(i, shape);
                expected.Data[i] = cr.Data[Ref.BroadcastSource(idx, cr.Shape)] > 0 ? ar.Data[Ref.BroadcastSource(idx, ar.Shape)] : br.Data[Ref.BroadcastSource(idx, br.Shape)];
            }
            Close(y, expected, dtype, "Where");
            var up = Upstream(shape);
            bool Picks(int i) => cr.Data[Ref.BroadcastSource(Ref.Unravel(i, shape), cr.Shape)] > 0;
            var ga = Ref.Unbroadcast(up, ar.Shape, i => Picks(i) ? 1 : 0);
            var gb = Ref.Unbroadcast(up, br.Shape, i => Picks(i) ? 0 : 1);
            CheckGrads(y, Device, dtype, [(la, a.BaseGrad(ga), "a"), (lb, b.BaseGrad(gb), "b")], scale: 4);
        });
    }
}
