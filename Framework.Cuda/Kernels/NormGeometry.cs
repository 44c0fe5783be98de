namespace Framework.Cuda.Kernels;

/// <summary>
/// The group geometry every norm kernel of kernels/norm.ptx and norm_bwd.ptx takes (see kernels/norm.ptxinc):
/// group gi has R rows of S contiguous elements, element (q, s) at gi*BaseS + q*RowS + s, affine
/// index (gi % GMod)*GMul + q*Gq + s*Gs.
/// </summary>
internal readonly record struct NormGeometry(ulong G, ulong R, ulong S, ulong RowS, ulong BaseS,
    ulong GMod, ulong GMul, ulong Gq, ulong Gs)
{
    /// <summary>Elements per group.</summary>
    public ulong M => R * S;

    /// <summary>BatchNorm: group = channel c of [N, C, S], rows = samples.</summary>
    public static NormGeometry Batch(long n, int c, long s) =>
        new((ulong)c, (ulong)n, (ulong)s, (ulong)c * (ulong)s, (ulong)s, (ulong)c, 1, 0, 0);

    /// <summary>
    /// GroupNorm (InstanceNorm when groups = C): group = (sample, group), rows = its channels. With one
    /// channel per group the affine index is constant over the group (Gq = 0), so the kernels read
    /// gamma and beta once per group instead of once per element.
    /// </summary>
    public static NormGeometry Group(int n, int c, long s, int groups)
    {
        ulong cpg = (ulong)(c / groups);
        return new((ulong)n * (ulong)groups, cpg, (ulong)s, (ulong)s, cpg * (ulong)s, (ulong)groups, cpg, cpg > 1 ? 1UL : 0, 0);
    }

    /// <summary>LayerNorm: group = row of [rows, D], affine per element of the row.</summary>
    public static NormGeometry Layer(long rows, int d) =>
        new((ulong)rows, 1, (ulong)d, (ulong)d, (ulong)d, 1, 0, 0, 1);

    /// <summary>Appends the geometry and the part count, mode and shared cache size, in kernel order.</summary>
    public KernelParameterBuffer AddTo(KernelParameterBuffer b, uint parts, uint mode, uint cap) =>
        b.Add(G).Add(R).Add(S).Add(RowS).Add(BaseS).Add(GMod).Add(GMul).Add(Gq).Add(Gs).Add(parts).Add(mode).Add(cap);
}
