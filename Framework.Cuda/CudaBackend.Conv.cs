using Framework.Backends;

namespace Framework.Cuda;

// Convolution as im2col (kernels/conv.ptx) + cuBLAS GEMM. The batch is processed in chunks whose
// column matrices fit a fixed scratch budget; inside a chunk every group's product is one
// strided-batched GEMM over the chunk's samples (the weight shared with stride 0). Per sample and
// group g, with cols_g its [kg, L] slice of the column matrix:
//   y_g = W_g cols_g          dW_g += dy_g cols_g^T          dcols_g = W_g^T dy_g, dx = col2im(dcols)
public sealed partial class CudaBackend
{
    /// <summary>
    /// Largest column-matrix chunk in bytes (64 MiB): whole batches of small layers in one chunk, large
    /// ones bounded. Settable so tests can force several chunks on small shapes.
    /// </summary>
    internal long ColumnBudgetBytes { get; set; } = 64L << 20;

    /// <inheritdoc />
    public override void Im2Col(Tensor x, Tensor cols, in Conv2dGeometry geometry) =>
        Im2ColRaw(DevicePtr(x), DevicePtr(cols), x._shape[0], geometry, x.DType);

    /// <inheritdoc />
    public override void Col2Im(Tensor cols, Tensor x, in Conv2dGeometry geometry) =>
        Col2ImRaw(DevicePtr(cols), DevicePtr(x), x._shape[0], geometry, x.DType);

    private void Im2ColRaw(ulong x, ulong cols, int n, in Conv2dGeometry g, DType dtype)
    {
        var args = PlaneArgs(cols, 0, x, (long)n * g.ColRows, ConvSlots(g));
        LaunchPlanes($"im2col_{Suffix(dtype)}", (long)n * g.ColRows, g.ColCols, args);
    }

    private void Col2ImRaw(ulong cols, ulong x, int n, in Conv2dGeometry g, DType dtype)
    {
        var args = PlaneArgs(x, 0, cols, (long)n * g.C, ConvSlots(g));
        LaunchPlanes($"col2im_{Suffix(dtype)}", (long)n * g.C, (long)g.H * g.W, args);
    }

    private static uint[] ConvSlots(in Conv2dGeometry g) =>
        [(uint)g.C, (uint)g.H, (uint)g.W, (uint)g.OH, (uint)g.OW, (uint)g.KH, (uint)g.KW,
         (uint)g.SH, (uint)g.SW, (uint)g.PH, (uint)g.PW, (uint)g.DH, (uint)g.DW, 0, 0];

    /// <summary>Samples per chunk so that a chunk's column matrix stays within <see cref="ColumnBudgetBytes"/> (at least one).</summary>
    private int ChunkSamples(in Conv2dGeometry g, int elementSize)
    {
        long perSample = Math.Max(1L, (long)g.ColRows * g.ColCols * elementSize);
        return (int)Math.Clamp(ColumnBudgetBytes / perSample, 1, Math.Max(1, g.N));
    }

    /// <inheritdoc />
    public override void Conv2d(Tensor x, Tensor weight, Tensor? bias, Tensor y, in Conv2dGeometry geometry)
    {
        var g = geometry;
        if (y.Numel == 0) return;
        var dt = x.DType;
        int es = dt.ElementSize(), l = g.ColCols, cog = g.OutC / g.Groups, kg = g.ColRows / g.Groups;
        long xs = (long)g.C * g.H * g.W, ys = (long)g.OutC * l, colSize = (long)g.ColRows * l;
        ulong px = DevicePtr(x), pw = DevicePtr(weight), py = DevicePtr(y);
        if (bias is not null)
        {
            // y starts as the bias; the GEMMs then accumulate (beta = 1), as the CPU backend does.
            var slots = new uint[15];
            slots[0] = (uint)g.OutC; slots[3] = (uint)g.OH; slots[4] = (uint)g.OW;
            LaunchPlanes($"bias_fill_{Suffix(dt)}", (long)g.N * g.OutC, l, PlaneArgs(py, DevicePtr(bias), 0, (long)g.N * g.OutC, slots));
        }
        int chunk = ChunkSamples(g, es);
        using var scratch = g.IsPointwise ? null : new DeviceScratch(_allocator, (ulong)(chunk * colSize * es));
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            ulong cols = px + (ulong)(n0 * xs * es);
            if (scratch is not null)
            {
                Im2ColRaw(cols, scratch.Pointer, nb, g, dt);
                cols = scratch.Pointer;
            }
            for (int grp = 0; grp < g.Groups; grp++)
                RowMajorGemm(dt, false, false, cog, l, kg,
                    pw + (ulong)((long)grp * cog * kg * es), kg, 0,
                    cols + (ulong)((long)grp * kg * l * es), l, colSize,
                    py + (ulong)((n0 * ys + (long)grp * cog * l) * es), l, ys, nb, accumulate: bias is not null);
        }
    }

    /// <inheritdoc />
    public override void Conv2dBackward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias, in Conv2dGeometry geometry)
    {
        var g = geometry;
        var dt = x.DType;
        int es = dt.ElementSize(), l = g.ColCols, cog = g.OutC / g.Groups, kg = g.ColRows / g.Groups;
        long xs = (long)g.C * g.H * g.W, ys = (long)g.OutC * l, colSize = (long)g.ColRows * l;
        ulong px = DevicePtr(x), pw = DevicePtr(weight), pdy = DevicePtr(dy);
        if (dbias is not null)
        {
            // dbias[c] = sum of dy over samples and pixels: one block per channel.
            uint threads = (uint)Math.Clamp((l + 31) / 32 * 32, 32, ElementwiseThreads);
            var args = new KernelParameterBuffer().Add(DevicePtr(dbias)).Add(pdy).Add((ulong)g.N).Add((uint)g.OutC).Add((uint)l);
            Launch($"channel_sum_{Suffix(dt)}", GridFor(g.OutC, 1), threads, 0, args);
        }
        // Weight gradients accumulate over samples (beta = 1), so they start at zero; so does dx when
        // there is nothing to propagate (no samples, or an empty output).
        if (dweight is not null) Fill(dweight, 0);
        if (dx is not null && (g.N == 0 || l == 0)) Fill(dx, 0);
        if ((dweight is null && dx is null) || g.N == 0 || l == 0) return;
        ulong pdw = DevicePtrOrZero(dweight), pdx = DevicePtrOrZero(dx);
        int chunk = ChunkSamples(g, es);
        using var scratch = g.IsPointwise ? null : new DeviceScratch(_allocator, (ulong)(chunk * colSize * es));
        // Per-sample weight-gradient partials, as many samples at a time as the budget allows, and the
        // ones vector that sums them (see AccumulateWeightGradient).
        long wSize = (long)g.OutC * kg;
        int perPartial = dweight is null ? 1 : (int)Math.Clamp(ColumnBudgetBytes / Math.Max(1, wSize * es), 1, chunk);
        using var partials = perPartial > 1 ? new DeviceScratch(_allocator, (ulong)(perPartial * wSize * es)) : null;
        using var ones = perPartial > 1 ? new DeviceScratch(_allocator, (ulong)(perPartial * es)) : null;
        if (ones is not null)
            LaunchElementwise($"fill_{Suffix(dt)}", [perPartial], [[1], [0], [0], [0]], [ones.Pointer, 0, 0, 0], 1, 0);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            if (dweight is not null)
            {
                ulong cols = px + (ulong)(n0 * xs * es);
                if (scratch is not null)
                {
                    Im2ColRaw(cols, scratch.Pointer, nb, g, dt);
                    cols = scratch.Pointer;
                }
                AccumulateWeightGradient(dt, g, pdy + (ulong)(n0 * ys * es), cols, nb, pdw, partials?.Pointer ?? 0, ones?.Pointer ?? 0, perPartial);
            }
            if (dx is not null)
            {
                ulong dxChunk = pdx + (ulong)(n0 * xs * es);
                ulong dcols = scratch?.Pointer ?? dxChunk; // 1x1 stride-1 unpadded: the columns are dx itself
                for (int grp = 0; grp < g.Groups; grp++)
                    RowMajorGemm(dt, true, false, kg, l, cog,
                        pw + (ulong)((long)grp * cog * kg * es), kg, 0,
                        pdy + (ulong)((n0 * ys + (long)grp * cog * l) * es), l, ys,
                        dcols + (ulong)((long)grp * kg * l * es), l, colSize, nb, accumulate: false);
                if (scratch is not null) Col2ImRaw(scratch.Pointer, dxChunk, nb, g, dt);
            }
        }
    }

    /// <summary>
    /// dW += the sum over <paramref name="nb"/> samples of dy_g cols_g^T. A batched GEMM cannot
    /// accumulate all samples into one dW (its batch entries would race on it), so up to
    /// <paramref name="perPartial"/> samples at a time get their own partial dW in one strided-batched
    /// GEMM per group, and one more GEMM, ones[1, s] x partials[s, OutC*kg] with beta = 1, adds them
    /// up: 1 + groups calls instead of one per sample, at the same traffic (a per-sample beta = 1 GEMM
    /// reads and writes dW each time). A lone sample accumulates directly, batched over the groups.
    /// </summary>
    private void AccumulateWeightGradient(DType dt, in Conv2dGeometry g, ulong dy, ulong cols, int nb, ulong dw,
        ulong partials, ulong ones, int perPartial)
    {
        int es = dt.ElementSize(), l = g.ColCols, cog = g.OutC / g.Groups, kg = g.ColRows / g.Groups;
        long ys = (long)g.OutC * l, colSize = (long)g.ColRows * l, wSize = (long)g.OutC * kg;
        for (int s0 = 0; s0 < nb; s0 += perPartial)
        {
            int count = Math.Min(perPartial, nb - s0);
            ulong dy0 = dy + (ulong)(s0 * ys * es), cols0 = cols + (ulong)(s0 * colSize * es);
            if (count == 1)
            {
                RowMajorGemm(dt, false, true, cog, kg, l, dy0, l, (long)cog * l, cols0, l, (long)kg * l, dw, kg, (long)cog * kg, g.Groups, accumulate: true);
                continue;
            }
            for (int grp = 0; grp < g.Groups; grp++)
                RowMajorGemm(dt, false, true, cog, kg, l,
                    dy0 + (ulong)((long)grp * cog * l * es), l, ys,
                    cols0 + (ulong)((long)grp * kg * l * es), l, colSize,
                    partials + (ulong)((long)grp * cog * kg * es), kg, wSize, count, accumulate: false);
            RowMajorGemm(dt, false, false, 1, checked((int)wSize), count, ones, count, 0, partials, checked((int)wSize), 0,
                dw, checked((int)wSize), 0, 1, accumulate: true);
        }
    }

    /// <summary>
    /// Row-major C[i] (+)= op(A[i]) op(B[i]) for i &lt; batch, with element strides between the
    /// matrices (0 shares one). cuBLAS is column-major, where a row-major matrix reads as its
    /// transpose: C^T = op(B)^T op(A)^T, so B goes first, m and n swap, and each operand keeps its
    /// own transpose flag (see <see cref="Matmul"/>).
    /// </summary>
    private void RowMajorGemm(DType dt, bool transA, bool transB, int m, int n, int k,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC, int batch, bool accumulate)
    {
        if (batch == 0 || m == 0 || n == 0) return;
        var opFirst = transB ? BlasOperation.Transpose : BlasOperation.None;
        var opSecond = transA ? BlasOperation.Transpose : BlasOperation.None;
        lda = Math.Max(1, lda); ldb = Math.Max(1, ldb); ldc = Math.Max(1, ldc);
        if (dt == DType.Float32)
        {
            float beta = accumulate ? 1f : 0f;
            if (batch == 1) Driver.Sgemm(opFirst, opSecond, n, m, k, 1f, b, ldb, a, lda, beta, c, ldc);
            else Driver.SgemmStridedBatched(opFirst, opSecond, n, m, k, 1f, b, ldb, strideB, a, lda, strideA, beta, c, ldc, strideC, batch);
        }
        else
        {
            double beta = accumulate ? 1.0 : 0.0;
            if (batch == 1) Driver.Dgemm(opFirst, opSecond, n, m, k, 1.0, b, ldb, a, lda, beta, c, ldc);
            else Driver.DgemmStridedBatched(opFirst, opSecond, n, m, k, 1.0, b, ldb, strideB, a, lda, strideA, beta, c, ldc, strideC, batch);
        }
    }
}
