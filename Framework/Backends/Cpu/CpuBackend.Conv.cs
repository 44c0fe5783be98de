using System.Numerics;
using System.Numerics.Tensors;

namespace Framework.Backends.Cpu;

// Convolution as im2col + GEMM, one sample at a time so the column matrix (C*KH*KW x OH*OW) stays in
// a per-thread buffer. Contiguous chunks of the batch run in parallel with single-threaded GEMMs
// (several chunks per core, handed out dynamically, because cores may be shared); only when there are
// fewer samples than cores and each GEMM is large do samples run in order with the GEMM splitting itself.
// Weight and bias gradients are summed per chunk and the partials added in chunk order, so results do
// not depend on thread scheduling.
internal sealed unsafe partial class CpuBackend
{
    public override void Im2Col(Tensor x, Tensor cols, in Conv2dGeometry geometry)
    {
        var g = geometry;
        int n = x._shape[0];
        long xs = (long)g.C * g.H * g.W, cs = (long)g.ColRows * g.ColCols;
        if (x.DType == DType.Float32)
        {
            float* px = Ptr<float>(x), pc = Ptr<float>(cols);
            ForEachSample(n, xs * g.KH * g.KW, i => ConvKernels.Im2Col(px + i * xs, pc + i * cs, g));
        }
        else
        {
            double* px = Ptr<double>(x), pc = Ptr<double>(cols);
            ForEachSample(n, xs * g.KH * g.KW, i => ConvKernels.Im2Col(px + i * xs, pc + i * cs, g));
        }
    }

    public override void Col2Im(Tensor cols, Tensor x, in Conv2dGeometry geometry)
    {
        var g = geometry;
        int n = x._shape[0];
        long xs = (long)g.C * g.H * g.W, cs = (long)g.ColRows * g.ColCols;
        if (x.DType == DType.Float32)
        {
            float* px = Ptr<float>(x), pc = Ptr<float>(cols);
            ForEachSample(n, cs, i => ConvKernels.Col2Im(pc + i * cs, px + i * xs, g));
        }
        else
        {
            double* px = Ptr<double>(x), pc = Ptr<double>(cols);
            ForEachSample(n, cs, i => ConvKernels.Col2Im(pc + i * cs, px + i * xs, g));
        }
    }

    private static void ForEachSample(int n, long workPerSample, Action<int> body)
    {
        if (n > 1 && n * workPerSample >= StridedLoop.ParallelThreshold) Parallel.For(0, n, body);
        else for (int i = 0; i < n; i++) body(i);
    }

    /// <summary>
    /// Number of batch chunks. 1 (samples in order) for little work, one sample, or fewer samples than
    /// cores when each sample's GEMM is big enough to split itself over the cores; otherwise up to 4 per
    /// core, taken dynamically from the pool so a core slowed by another process does not hold the rest
    /// back (with fewer samples than cores, one per sample), capped so the weight-gradient partials stay
    /// within 64 MiB.
    /// </summary>
    private static int Chunks(in Conv2dGeometry g, int elementSize)
    {
        int cores = Environment.ProcessorCount;
        long perSample = (long)g.OutC * g.ColCols * (g.ColRows / g.Groups);
        if (cores == 1 || g.N <= 1 || g.N * perSample < (1L << 20)) return 1;
        if (g.N < cores && perSample / g.Groups >= GemmDriver<float, GemmKernelScalar<float>>.ParallelThreshold) return 1;
        long weightBytes = Math.Max(1L, (long)g.OutC * (g.ColRows / g.Groups) * elementSize);
        long byMemory = Math.Max(2, (64L << 20) / weightBytes);
        return (int)Math.Min(Math.Min(g.N, 4L * cores), byMemory);
    }

    public override void Conv2d(Tensor x, Tensor weight, Tensor? bias, Tensor y, in Conv2dGeometry geometry)
    {
        if (x.DType == DType.Float32) ConvForward<float>(x, weight, bias, y, geometry);
        else ConvForward<double>(x, weight, bias, y, geometry);
    }

    public override void Conv2dBackward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias, in Conv2dGeometry geometry)
    {
        if (x.DType == DType.Float32) ConvBackward<float>(x, weight, dy, dx, dweight, dbias, geometry);
        else ConvBackward<double>(x, weight, dy, dx, dweight, dbias, geometry);
    }

    private static void ConvForward<T>(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dGeometry g)
        where T : unmanaged, INumberBase<T>
    {
        T* px = Ptr<T>(x), pw = Ptr<T>(weight), py = Ptr<T>(y);
        T* pb = bias is null ? null : Ptr<T>(bias);
        int l = g.ColCols, cog = g.OutC / g.Groups, kg = g.ColRows / g.Groups;
        long xs = (long)g.C * g.H * g.W, ys = (long)g.OutC * l, colSize = (long)g.ColRows * l;
        int chunks = Chunks(g, sizeof(T));
        bool innerParallel = chunks == 1;
        void Sample(int i)
        {
            T* xi = px + i * xs, yi = py + i * ys;
            T* cols = xi;
            if (!g.IsPointwise)
            {
                cols = Scratch<T>.Get(colSize);
                ConvKernels.Im2Col(xi, cols, g);
            }
            if (pb != null)
                for (int co = 0; co < g.OutC; co++) new Span<T>(yi + (long)co * l, l).Fill(pb[co]);
            for (int grp = 0; grp < g.Groups; grp++)
                ConvKernels.Gemm(false, false, cog, l, kg, pw + (long)grp * cog * kg, kg, cols + (long)grp * kg * l, l,
                    yi + (long)grp * cog * l, l, accumulate: pb != null, innerParallel);
        }
        RunChunks(g.N, chunks, (lo, hi, _) => { for (int i = lo; i < hi; i++) Sample(i); });
    }

    /// <summary>Splits [0, n) into <paramref name="chunks"/> contiguous ranges and runs them (in parallel when more than one).</summary>
    private static void RunChunks(int n, int chunks, Action<int, int, int> body)
    {
        if (chunks <= 1) { body(0, n, 0); return; }
        // Chunk boundaries depend only on n and the chunk count, so the partial sums (and the result) do
        // not depend on which thread ran which chunk.
        Parallel.For(0, chunks, c => body((int)((long)n * c / chunks), (int)((long)n * (c + 1) / chunks), c));
    }

    private static void ConvBackward<T>(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias, Conv2dGeometry g)
        where T : unmanaged, INumberBase<T>
    {
        T* px = Ptr<T>(x), pw = Ptr<T>(weight), pdy = Ptr<T>(dy);
        T* pdx = dx is null ? null : Ptr<T>(dx);
        T* pdw = dweight is null ? null : Ptr<T>(dweight);
        T* pdb = dbias is null ? null : Ptr<T>(dbias);
        int l = g.ColCols, cog = g.OutC / g.Groups, kg = g.ColRows / g.Groups;
        long xs = (long)g.C * g.H * g.W, ys = (long)g.OutC * l, colSize = (long)g.ColRows * l;
        long wSize = (long)g.OutC * kg;
        int chunks = Chunks(g, sizeof(T));
        bool innerParallel = chunks == 1;
        // Chunk c accumulates its weight/bias gradient in partial c; chunk 0's partial is the output itself.
        // Pooled, so a training loop does not put a large array on the GC heap every step.
        int partialWLength = chunks > 1 && pdw != null ? checked((int)((chunks - 1) * wSize)) : 0;
        int partialBLength = chunks > 1 && pdb != null ? (chunks - 1) * g.OutC : 0;
        var partialW = System.Buffers.ArrayPool<T>.Shared.Rent(Math.Max(1, partialWLength));
        var partialB = System.Buffers.ArrayPool<T>.Shared.Rent(Math.Max(1, partialBLength));
        Array.Clear(partialW, 0, partialWLength);
        Array.Clear(partialB, 0, partialBLength);
        if (pdw != null) new Span<T>(pdw, checked((int)wSize)).Clear();
        if (pdb != null) new Span<T>(pdb, g.OutC).Clear();
        fixed (T* ppw = partialW, ppb = partialB)
        {
            T* basePw = ppw, basePb = ppb;
            RunChunks(g.N, chunks, (lo, hi, c) =>
            {
                T* dwc = c == 0 ? pdw : basePw + (c - 1) * wSize;
                T* dbc = c == 0 ? pdb : basePb + (long)(c - 1) * g.OutC;
                for (int i = lo; i < hi; i++)
                {
                    T* xi = px + i * xs, dyi = pdy + i * ys;
                    T* buf = g.IsPointwise ? null : Scratch<T>.Get(colSize);
                    if (pdw != null)
                    {
                        // dW_g += dy_g [cog, L] x cols_g^T [L, kg]
                        T* cols = xi;
                        if (!g.IsPointwise) { ConvKernels.Im2Col(xi, buf, g); cols = buf; }
                        for (int grp = 0; grp < g.Groups; grp++)
                            ConvKernels.Gemm(false, true, cog, kg, l, dyi + (long)grp * cog * l, l, cols + (long)grp * kg * l, l,
                                dwc + (long)grp * cog * kg, kg, accumulate: true, innerParallel);
                    }
                    if (pdb != null)
                        for (int co = 0; co < g.OutC; co++) dbc[co] += TensorPrimitives.Sum<T>(new ReadOnlySpan<T>(dyi + (long)co * l, l));
                    if (pdx != null)
                    {
                        // dcols_g = W_g^T [kg, cog] x dy_g [cog, L], then col2im (the buffer's columns are no longer needed).
                        T* dxi = pdx + i * xs;
                        T* dcols = g.IsPointwise ? dxi : buf;
                        for (int grp = 0; grp < g.Groups; grp++)
                            ConvKernels.Gemm(true, false, kg, l, cog, pw + (long)grp * cog * kg, kg, dyi + (long)grp * cog * l, l,
                                dcols + (long)grp * kg * l, l, accumulate: false, innerParallel);
                        if (!g.IsPointwise) ConvKernels.Col2Im(dcols, dxi, g);
                    }
                }
            });
            for (int c = 1; c < chunks; c++)
            {
                if (pdw != null)
                {
                    var dst = new Span<T>(pdw, checked((int)wSize));
                    TensorPrimitives.Add<T>(dst, new ReadOnlySpan<T>(basePw + (c - 1) * wSize, (int)wSize), dst);
                }
                if (pdb != null)
                {
                    var dst = new Span<T>(pdb, g.OutC);
                    TensorPrimitives.Add<T>(dst, new ReadOnlySpan<T>(basePb + (long)(c - 1) * g.OutC, g.OutC), dst);
                }
            }
        }
        System.Buffers.ArrayPool<T>.Shared.Return(partialW);
        System.Buffers.ArrayPool<T>.Shared.Return(partialB);
    }
}
