namespace Framework.Tests.Properties;

/// <summary>
/// A dense row-major float64 array with a shape: the independent reference the property tests compare
/// the framework against. Everything here is plain loops over multi-indices; nothing calls the framework,
/// so a bug in the framework's stride, broadcast or reduction code cannot hide in the reference too.
/// </summary>
internal sealed class Ref(int[] shape, double[] data)
{
    public int[] Shape { get; } = shape;
    public double[] Data { get; } = data;
    public int Rank => Shape.Length;
    public int Numel => Data.Length;

    public static Ref Zeros(int[] shape) => new(shape, new double[Count(shape)]);

    public static int Count(int[] shape)
    {
        int n = 1;
        foreach (int s in shape) n *= s;
        return n;
    }

    /// <summary>The multi-index of row-major position <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }

    /// <summary>The row-major position of <paramref name="idx"/> in <paramref name="shape"/>.</summary>
    public static int Ravel(int[] idx, int[] shape)
    {
        int flat = 0;
        for (int d = 0; d < shape.Length; d++) flat = flat * shape[d] + idx[d];
        return flat;
    }

    /// <summary>NumPy broadcasting of two shapes, or null when they do not broadcast.</summary>
    public static int[]? Broadcast(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1) return null;
            s[i] = da == 1 ? db : da;
        }
        return s;
    }

    /// <summary>Position in an operand of shape <paramref name="shape"/> read by output index <paramref name="outIdx"/> under broadcasting.</summary>
    public static int BroadcastSource(int[] outIdx, int[] shape)
    {
        int off = outIdx.Length - shape.Length, flat = 0;
        for (int d = 0; d < shape.Length; d++) flat = flat * shape[d] + (shape[d] == 1 ? 0 : outIdx[d + off]);
        return flat;
    }

    public Ref Map(Func<double, double> f) => new(Shape, Data.Select(f).ToArray());

    /// <summary>y = f(a, b) with broadcasting.</summary>
    public static Ref Zip(Ref a, Ref b, Func<double, double, double> f)
    {
        var shape = Broadcast(a.Shape, b.Shape) ?? throw new InvalidOperationException("reference: shapes do not broadcast");
        var y = Zeros(shape);
        for (int i = 0; i < y.Numel; i++)
        {
            var idx = Unravel(i, shape);
            y.Data[i] = f(a.Data[BroadcastSource(idx, a.Shape)], b.Data[BroadcastSource(idx, b.Shape)]);
        }
        return y;
    }

    /// <summary>Sums a gradient of the broadcast shape back onto an operand of shape <paramref name="shape"/>.</summary>
    public static Ref Unbroadcast(Ref g, int[] shape, Func<int, double> weight)
    {
        var r = Zeros(shape);
        for (int i = 0; i < g.Numel; i++) r.Data[BroadcastSource(Unravel(i, g.Shape), shape)] += g.Data[i] * weight(i);
        return r;
    }

    /// <summary>The output shape of a reduction over <paramref name="dims"/> (all when null).</summary>
    public static int[] ReducedShape(int[] shape, bool[] reduced, bool keepDim)
    {
        var s = new List<int>();
        for (int d = 0; d < shape.Length; d++)
            if (!reduced[d]) s.Add(shape[d]);
            else if (keepDim) s.Add(1);
        return [.. s];
    }

    public static bool[] ReducedMask(int rank, int[]? dims)
    {
        var mask = new bool[rank];
        if (rank == 0) return mask; // a 0-d tensor accepts dim 0 or -1, as PyTorch, and has nothing to reduce
        if (dims is null || dims.Length == 0) Array.Fill(mask, true);
        else foreach (int d in dims) mask[d < 0 ? d + rank : d] = true;
        return mask;
    }

    /// <summary>The position in the keep-dim output that input position <paramref name="flat"/> reduces into.</summary>
    public static int ReducedTarget(int flat, int[] shape, bool[] reduced)
    {
        var idx = Unravel(flat, shape);
        var keptShape = (int[])shape.Clone();
        for (int d = 0; d < shape.Length; d++)
            if (reduced[d]) { idx[d] = 0; keptShape[d] = 1; }
        return Ravel(idx, keptShape);
    }

    public override string ToString() => $"[{string.Join(",", Shape)}] {{{string.Join(", ", Data.Take(64).Select(v => v.ToString("G6")))}{(Numel > 64 ? ", ..." : "")}}}";
}
