namespace Framework.Tests.Properties;

/// <summary>
/// One view applied to a tensor (permute, transpose, slice with a step, narrow, expand, unsqueeze,
/// squeeze, select, reshape). It is applied twice: to the framework tensor through the public view API,
/// and to the reference as an index map (which base element each view element reads), computed here by
/// plain index arithmetic so that the framework's stride code is checked, not reused.
/// </summary>
internal abstract record ViewStep
{
    public abstract Tensor Apply(Tensor t);

    /// <summary>Maps each element of the output (row-major) to the input element it reads.</summary>
    protected abstract int[] Source(int[] outIdx);

    public abstract int[] OutShape(int[] inShape);

    /// <summary>The view of a reference map: element i of the result reads base element result[i].</summary>
    public virtual (int[] Shape, int[] Map) ApplyMap(int[] inShape, int[] map)
    {
        var outShape = OutShape(inShape);
        var outMap = new int[Ref.Count(outShape)];
        for (int i = 0; i < outMap.Length; i++)
            outMap[i] = map[Ref.Ravel(Source(Ref.Unravel(i, outShape)), inShape)];
        return (outShape, outMap);
    }
}

internal sealed record PermuteStep(int[] Dims) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Permute(Dims);
    public override int[] OutShape(int[] s) => Dims.Select(d => s[d]).ToArray();
    protected override int[] Source(int[] o)
    {
        var i = new int[o.Length];
        for (int k = 0; k < Dims.Length; k++) i[Dims[k]] = o[k];
        return i;
    }
    public override string ToString() => $"Permute({string.Join(",", Dims)})";
}

internal sealed record TransposeStep(int D0, int D1) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Transpose(D0, D1);
    public override int[] OutShape(int[] s) => Swap(s);
    protected override int[] Source(int[] o) => Swap(o);
    private int[] Swap(int[] a)
    {
        var r = (int[])a.Clone();
        (r[D0], r[D1]) = (r[D1], r[D0]);
        return r;
    }
    public override string ToString() => $"Transpose({D0},{D1})";
}

internal sealed record SliceStep(int Dim, int Start, int End, int Step, bool AsNarrow) : ViewStep
{
    public override Tensor Apply(Tensor t) => AsNarrow ? t.Narrow(Dim, Start, End - Start) : t.Slice(Dim, Start, End, Step);
    public override int[] OutShape(int[] s)
    {
        var r = (int[])s.Clone();
        r[Dim] = End <= Start ? 0 : (End - Start + Step - 1) / Step;
        return r;
    }
    protected override int[] Source(int[] o)
    {
        var i = (int[])o.Clone();
        i[Dim] = Start + o[Dim] * Step;
        return i;
    }
    public override string ToString() => AsNarrow ? $"Narrow({Dim},{Start},{End - Start})" : $"Slice({Dim},{Start},{End},{Step})";
}

internal sealed record ExpandStep(int[] Sizes) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Expand(Sizes);
    public override int[] OutShape(int[] s) => (int[])Sizes.Clone();
    protected override int[] Source(int[] o) => throw new NotSupportedException();
    public override (int[] Shape, int[] Map) ApplyMap(int[] inShape, int[] map)
    {
        var outMap = new int[Ref.Count(Sizes)];
        for (int i = 0; i < outMap.Length; i++) outMap[i] = map[Ref.BroadcastSource(Ref.Unravel(i, Sizes), inShape)];
        return ((int[])Sizes.Clone(), outMap);
    }
    public override string ToString() => $"Expand({string.Join(",", Sizes)})";
}

internal sealed record UnsqueezeStep(int Dim) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Unsqueeze(Dim);
    public override int[] OutShape(int[] s) => [.. s[..Dim], 1, .. s[Dim..]];
    protected override int[] Source(int[] o) => [.. o[..Dim], .. o[(Dim + 1)..]];
    public override string ToString() => $"Unsqueeze({Dim})";
}

internal sealed record SqueezeStep(int Dim) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Squeeze(Dim);
    public override int[] OutShape(int[] s) => [.. s[..Dim], .. s[(Dim + 1)..]];
    protected override int[] Source(int[] o) => [.. o[..Dim], 0, .. o[Dim..]];
    public override string ToString() => $"Squeeze({Dim})";
}

internal sealed record SelectStep(int Dim, int Index) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Select(Dim, Index);
    public override int[] OutShape(int[] s) => [.. s[..Dim], .. s[(Dim + 1)..]];
    protected override int[] Source(int[] o) => [.. o[..Dim], Index, .. o[Dim..]];
    public override string ToString() => $"Select({Dim},{Index})";
}

/// <summary>Reshape keeps the row-major order of the elements, so the map is unchanged.</summary>
internal sealed record ReshapeStep(int[] Sizes) : ViewStep
{
    public override Tensor Apply(Tensor t) => t.Reshape(Sizes);
    public override int[] OutShape(int[] s) => (int[])Sizes.Clone();
    protected override int[] Source(int[] o) => throw new NotSupportedException();
    public override (int[] Shape, int[] Map) ApplyMap(int[] inShape, int[] map) => ((int[])Sizes.Clone(), map);
    public override string ToString() => $"Reshape({string.Join(",", Sizes)})";
}
