using System.Collections.Immutable;
using CsCheck;

namespace Framework.Tests.Properties;

/// <summary>
/// A test input: a contiguous base tensor (shape and values) and the chain of views that turns it into
/// the operand an op sees. Gradients are checked on the base, so every view's backward is checked too.
/// </summary>
internal sealed record Operand(int[] BaseShape, double[] BaseData, ImmutableList<ViewStep> Steps)
{
    public int[] Shape => Steps.Aggregate(BaseShape, (s, step) => step.OutShape(s));

    /// <summary>The base on <paramref name="device"/> (the leaf that gets the gradient) and the view of it.</summary>
    public (Tensor Leaf, Tensor View) Build(Device device, DType dtype, bool requiresGrad)
    {
        using var host = Tensor.FromArray(BaseData, BaseShape);
        var leaf = host.To(dtype).To(device);
        if (ReferenceEquals(leaf, host)) leaf = host.Clone();
        leaf.RequiresGrad = requiresGrad;
        return (leaf, Steps.Aggregate(leaf, (t, step) => step.Apply(t)));
    }

    /// <summary>Base element read by each element of the view (row-major).</summary>
    public int[] Map()
    {
        var shape = BaseShape;
        var map = Enumerable.Range(0, BaseData.Length).ToArray();
        foreach (var step in Steps) (shape, map) = step.ApplyMap(shape, map);
        return map;
    }

    /// <summary>The reference values of the view; float32 operands are rounded once, as the framework stores them.</summary>
    public Ref Value(DType dtype) => new(Shape, Map().Select(i => Round(BaseData[i], dtype)).ToArray());

    /// <summary>The gradient of the base given the gradient of the view: each view element adds into the element it reads.</summary>
    public double[] BaseGrad(Ref viewGrad)
    {
        var g = new double[BaseData.Length];
        var map = Map();
        for (int i = 0; i < map.Length; i++) g[map[i]] += viewGrad.Data[i];
        return g;
    }

    public static double Round(double v, DType dtype) => dtype == DType.Float32 ? (float)v : v;

    public override string ToString()
    {
        var values = string.Join(", ", BaseData.Take(48).Select(v => v.ToString("R")));
        var chain = Steps.IsEmpty ? "" : " -> " + string.Join(" -> ", Steps) + $" = [{string.Join(",", Shape)}]";
        return $"base [{string.Join(",", BaseShape)}] {{{values}{(BaseData.Length > 48 ? ", ..." : "")}}}{chain}";
    }
}

/// <summary>CsCheck generators of shapes, view chains and operands.</summary>
internal static class Gens
{
    /// <summary>Elements of a base tensor at most (keeps the emulated device's cases short).</summary>
    private const int MaxBase = 720;

    /// <summary>Plain values: continuous, so ties (which make max/min gradients ambiguous) come only from views that repeat an element.</summary>
    public static readonly Gen<double> Values = Gen.Double[-2, 2];

    /// <summary>Values bounded away from zero and positive: log, sqrt, rsqrt, non-integer powers, divisors.</summary>
    public static readonly Gen<double> Positive = Gen.Double[0.25, 3];

    /// <summary>A few integers, so comparisons meet equal values often.</summary>
    public static readonly Gen<double> Ties = Gen.Int[-2, 2].Select(i => (double)i);

    public static readonly Gen<DType> DTypes = Gen.Bool.Select(b => b ? DType.Float64 : DType.Float32);

    /// <summary>Size of one dim: 0 now and then, 1 often, else small and often odd; smaller in higher ranks.</summary>
    private static Gen<int> Size(int rank) => Gen.Frequency(
        (1, Gen.Const(0)), (2, Gen.Const(1)), (6, Gen.Int[2, rank <= 1 ? 9 : rank == 2 ? 7 : rank == 3 ? 5 : 3]));

    /// <summary>A shape of <paramref name="minRank"/> to <paramref name="maxRank"/> dims.</summary>
    public static Gen<int[]> Shape(int minRank = 0, int maxRank = 5) =>
        Gen.Int[minRank, maxRank].SelectMany(r => Size(r).Array[r]);

    /// <summary>A shape of rank <paramref name="rank"/> whose sizes are all at least <paramref name="min"/>.</summary>
    public static Gen<int[]> Shape(int rank, int min, int max) => Gen.Int[min, max].Array[rank];

    /// <summary>
    /// A shape that broadcasts to <paramref name="target"/>: some leading dims dropped, some dims 1.
    /// Often the target itself, so that same-shape paths are exercised as much as broadcasting.
    /// </summary>
    public static Gen<int[]> BroadcastTo(int[] target) => Gen.Frequency(
        (2, Gen.Const(target)),
        (3, Gen.Select(Gen.Int[0, target.Length], Gen.Int[0, (1 << target.Length) - 1], (drop, ones) =>
            target.Select((s, d) => (ones >> d & 1) == 1 ? 1 : s).Skip(drop).ToArray())));

    /// <summary>One value from each generator, in order.</summary>
    public static Gen<ImmutableList<T>> All<T>(IEnumerable<Gen<T>> gens) =>
        gens.Aggregate(Gen.Const(ImmutableList<T>.Empty), (acc, g) => acc.SelectMany(list => g.Select(list.Add)));

    /// <summary>An operand of shape <paramref name="target"/>: a base and 0 to 3 views that end in that shape.</summary>
    public static Gen<Operand> OperandOf(int[] target, Gen<double>? values = null) =>
        from depth in Gen.Frequency((2, Gen.Const(0)), (5, Gen.Int[1, 3]))
        from plan in Plan(target, depth)
        from data in (values ?? Values).Array[Ref.Count(plan.Base)]
        select new Operand(plan.Base, data, plan.Steps);

    private static Gen<(int[] Base, ImmutableList<ViewStep> Steps)> Plan(int[] target, int depth)
    {
        if (depth == 0) return Gen.Const((target, ImmutableList<ViewStep>.Empty));
        return Gen.Select(Gen.Int[0, 9], Gen.Int[0, 719], Gen.Int[0, 719], Gen.Int[0, 719]).SelectMany(k =>
        {
            var r = Resolve(target, k.Item1, k.Item2, k.Item3, k.Item4);
            if (r is not { } found) return Plan(target, depth - 1);
            return Plan(found.Source, depth - 1).Select(p => (p.Base, p.Steps.Add(found.Step)));
        });
    }

    /// <summary>
    /// A view step that produces <paramref name="t"/> and the shape it must be applied to, chosen by
    /// <paramref name="kind"/> and the parameters a, b, c; null when that kind cannot produce t.
    /// </summary>
    private static (ViewStep Step, int[] Source)? Resolve(int[] t, int kind, int a, int b, int c)
    {
        int r = t.Length;
        (ViewStep, int[])? result = null;
        switch (kind)
        {
            case 1 when r >= 2:
            {
                // Lehmer code of a: a permutation p; output dim k reads input dim p[k].
                var left = Enumerable.Range(0, r).ToList();
                var p = new int[r];
                int code = a;
                for (int k = 0; k < r; k++)
                {
                    int pick = code % left.Count;
                    code /= left.Count;
                    p[k] = left[pick];
                    left.RemoveAt(pick);
                }
                var s = new int[r];
                for (int k = 0; k < r; k++) s[p[k]] = t[k];
                result = (new PermuteStep(p), s);
                break;
            }
            case 2 when r >= 2:
            {
                int d0 = a % r, d1 = b % r;
                var s = (int[])t.Clone();
                (s[d0], s[d1]) = (s[d1], s[d0]);
                result = (new TransposeStep(d0, d1), s);
                break;
            }
            case 3 when r >= 1:
            {
                int dim = a % r, step = 1 + b % 3, start = c % 3, n = t[dim];
                int end = n == 0 ? start : start + (n - 1) * step + 1 + b / 3 % step;
                var s = (int[])t.Clone();
                s[dim] = end + c / 3 % 2;
                result = (new SliceStep(dim, start, end, step, false), s);
                break;
            }
            case 4 when r >= 1:
            {
                int dim = a % r, start = b % 3;
                var s = (int[])t.Clone();
                s[dim] = start + t[dim] + c % 2;
                result = (new SliceStep(dim, start, start + t[dim], 1, true), s);
                break;
            }
            case 5 when r >= 1:
            {
                int drop = b % (r + 1);
                var s = t.Select((size, d) => (a >> d & 1) == 1 ? 1 : size).Skip(drop).ToArray();
                result = (new ExpandStep((int[])t.Clone()), s);
                break;
            }
            case 6:
            {
                var ones = Enumerable.Range(0, r).Where(d => t[d] == 1).ToArray();
                if (ones.Length == 0) return null;
                int dim = ones[a % ones.Length];
                result = (new UnsqueezeStep(dim), [.. t[..dim], .. t[(dim + 1)..]]);
                break;
            }
            case 7:
            {
                int dim = a % (r + 1);
                result = (new SqueezeStep(dim), [.. t[..dim], 1, .. t[dim..]]);
                break;
            }
            case 8:
            {
                int dim = a % (r + 1), index = b % 3;
                result = (new SelectStep(dim, index), [.. t[..dim], index + 1 + c % 2, .. t[dim..]]);
                break;
            }
            case 9:
            {
                // Reshape from a shape with two neighbouring dims merged, or from the flat shape.
                int[] s = r >= 2 && a % 2 == 0
                    ? [.. t[..(b % (r - 1))], t[b % (r - 1)] * t[b % (r - 1) + 1], .. t[(b % (r - 1) + 2)..]]
                    : [Ref.Count(t)];
                if (s.SequenceEqual(t)) return null;
                result = (new ReshapeStep((int[])t.Clone()), s);
                break;
            }
        }
        if (result is not { } res || res.Item2.Length > 6 || Ref.Count(res.Item2) > MaxBase) return null;
        return res;
    }
}
