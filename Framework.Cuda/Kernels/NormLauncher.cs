namespace Framework.Cuda.Kernels;

/// <summary>
/// Plans and launches the kernels of kernels/norm.ptx and norm_bwd.ptx on raw device pointers (0 = absent), with the
/// same semantics as the CPU NormKernels: x contiguous [N, C, S]; outputs overwritten; running
/// statistics updated in the same pass. Launches per call: forward 1 (2 when a BatchNorm channel is
/// split over several blocks, or InstanceNorm updates running statistics), backward 1 or 2.
/// </summary>
internal sealed class NormLauncher
{
    private readonly Action<string, Dim3, Dim3, uint, KernelParameterBuffer> _launch;
    private readonly Func<ulong, ulong> _alloc;
    private readonly Action<ulong> _free;

    /// <summary>A launcher over a kernel-launch function (by <c>.entry</c> name) and a workspace allocator.</summary>
    /// <param name="launch">Launches (name, grid, block, dynamic shared bytes, arguments).</param>
    /// <param name="alloc">Workspace allocation in bytes.</param>
    /// <param name="free">Workspace release.</param>
    public NormLauncher(Action<string, Dim3, Dim3, uint, KernelParameterBuffer> launch, Func<ulong, ulong> alloc, Action<ulong> free)
    {
        _launch = launch;
        _alloc = alloc;
        _free = free;
    }

    /// <summary>
    /// A launch function that loads the assembled norm module into <paramref name="driver"/> itself
    /// (raw driver use: tests and measurements; the backend launches through its own module cache).
    /// </summary>
    public static Action<string, Dim3, Dim3, uint, KernelParameterBuffer> DriverLaunch(ICudaDriver driver)
    {
        // The norm kernels live in two modules (forward, backward); remember which holds which entry.
        var moduleOf = new Dictionary<string, CudaModule>(StringComparer.Ordinal);
        foreach (string file in ModuleFiles)
        {
            string text = PtxTemplate.Load(file);
            var module = driver.LoadModule(text, file);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"\.entry\s+(\w+)"))
                moduleOf[m.Groups[1].Value] = module;
        }
        var functions = new Dictionary<string, CudaFunction>(StringComparer.Ordinal);
        return (name, grid, block, shared, args) =>
        {
            if (!functions.TryGetValue(name, out var f)) functions[name] = f = driver.GetFunction(moduleOf[name], name);
            driver.Launch(f, grid, block, shared, CudaStream.Default, args.Bytes);
        };
    }

    /// <summary>The embedded template files holding the norm kernels.</summary>
    public static readonly string[] ModuleFiles = ["norm.ptx", "norm_bwd.ptx"];

    /// <summary>
    /// Most threads per block (a multiple of 32, at most 256: the kernels declare <c>.maxntid 256</c> so
    /// that ptxas may give them up to 255 registers). A group kernel uses fewer for small
    /// groups, about one thread per 16 elements: each thread pays a fixed cost (the block reduction:
    /// ~10 shuffles and two barriers), which 16 elements amortise, and idle threads would only add to it.
    /// </summary>
    public uint Threads { get; init; } = 256;

    /// <summary>Largest grid y extent used; groups beyond it are walked by a grid-stride loop.</summary>
    public uint MaxGridY { get; init; } = 65535;

    /// <summary>Blocks a BatchNorm launch aims for before it splits channels into parts.</summary>
    public int TargetBlocks { get; init; } = 256;

    /// <summary>
    /// Dynamic shared memory per block for the on-chip copy of a group (48 KiB, the limit without
    /// opt-in, less 2 KiB for the reduction slots).
    /// </summary>
    public int CacheBytes { get; init; } = 46 * 1024;

    /// <summary>Smallest part a BatchNorm channel is split into, in elements.</summary>
    public int PartElements { get; init; } = 4096;

    private static string Name(string op, bool f64) => op + (f64 ? "_f64" : "_f32");

    private uint GridY(ulong groups) => (uint)Math.Min(groups, MaxGridY);

    // Entries, expanded per dtype from the $T templates: norm_fwd_f32/f64 and norm_chsum_f32/f64 (norm.ptx),
    // norm_bwd_f32/f64 and norm_pgrad_f32/f64 (norm_bwd.ptx).
    private void Launch(string name, bool f64, Dim3 grid, uint shared, KernelParameterBuffer args, uint threads = 0) =>
        _launch(Name(name, f64), grid, new Dim3(threads == 0 ? Threads : threads), shared, args);

    /// <summary>Threads for blocks that each walk <paramref name="elements"/> elements: a power of two from 32 to <see cref="Threads"/>.</summary>
    internal uint ThreadsFor(ulong elements)
    {
        uint t = 32;
        while (t < Threads && (ulong)t * 16 < elements) t *= 2;
        return Math.Min(t, Threads);
    }

    /// <summary>Parts per BatchNorm channel: 1 when the channel fits on chip or the channels alone fill the GPU.</summary>
    internal uint BatchParts(int c, ulong m, int elementBytes)
    {
        if (m <= (ulong)(CacheBytes / elementBytes)) return 1;
        return SplitParts(c, m);
    }

    /// <summary>Parts per channel so that about <see cref="TargetBlocks"/> blocks run, none below <see cref="PartElements"/>.</summary>
    private uint SplitParts(int c, ulong m)
    {
        if (c >= TargetBlocks) return 1;
        ulong byBlocks = (ulong)((TargetBlocks + c - 1) / c), bySize = (m + (ulong)PartElements - 1) / (ulong)PartElements;
        return (uint)Math.Clamp(Math.Min(byBlocks, bySize), 1, 65535);
    }

    private uint Cap(ulong m, int bytesPerElement) => (uint)Math.Min(m, (ulong)(CacheBytes / bytesPerElement));

    // ---------------------------------------------------------------- the two group kernels

    private void Forward(bool f64, NormGeometry g, uint parts, uint mode, uint cap, ulong x, ulong y, ulong gamma, ulong beta,
        ulong mean, ulong rstd, ulong ws, ulong st, ulong rm, ulong rv, uint run, double eps, double factor, double unbias)
    {
        var b = new KernelParameterBuffer().Add(x).Add(y).Add(gamma).Add(beta).Add(mean).Add(rstd).Add(ws).Add(st).Add(rm).Add(rv);
        g.AddTo(b, parts, mode, cap).Add(run).Add(eps).Add(factor).Add(unbias);
        Launch("norm_fwd", f64, new Dim3(parts, GridY(g.G)), cap * (f64 ? 8u : 4u), b, ThreadsFor(g.M / parts));
    }

    private void Backward(bool f64, NormGeometry g, uint parts, uint mode, uint cap, ulong x, ulong dy, ulong dx, ulong gamma,
        ulong mean, ulong rstd, ulong dgamma, ulong dbeta, ulong ws, ulong pg, uint pgmode, bool eval, double eps)
    {
        var b = new KernelParameterBuffer().Add(x).Add(dy).Add(dx).Add(gamma).Add(mean).Add(rstd).Add(dgamma).Add(dbeta).Add(ws).Add(pg);
        g.AddTo(b, parts, mode, cap).Add(pgmode).Add(eval ? 1u : 0u).Add(eps);
        Launch("norm_bwd", f64, new Dim3(parts, GridY(g.G)), 2 * cap * (f64 ? 8u : 4u), b, ThreadsFor(g.M / parts));
    }

    private void ChannelSum(bool f64, ulong input, ulong o0, ulong o1, int n, int c, uint mode, double factor, double unbias)
    {
        var b = new KernelParameterBuffer().Add(input).Add(o0).Add(o1).Add((ulong)n).Add((ulong)c).Add(mode).Add(factor).Add(unbias);
        Launch("norm_chsum", f64, new Dim3((uint)Math.Min((c + Threads - 1) / Threads, 1024)), 0, b);
    }

    private void ParamGrad(bool f64, NormGeometry channels, ulong statGroups, ulong cpg, ulong x, ulong dy, ulong mean, ulong rstd,
        ulong dgamma, ulong dbeta)
    {
        var b = new KernelParameterBuffer().Add(x).Add(dy).Add(mean).Add(rstd).Add(dgamma).Add(dbeta);
        channels.AddTo(b, 1, 0, 0).Add(statGroups).Add(cpg);
        Launch("norm_pgrad", f64, new Dim3(1, GridY(channels.G)), 0, b, ThreadsFor(channels.M));
    }

    private ulong Workspace(ulong bytes) => _alloc(Math.Max(bytes, 8));

    // ---------------------------------------------------------------- BatchNorm

    /// <summary>Training forward: batch statistics, running update (factor f on the new statistics), y.</summary>
    public void BatchNormForward(bool f64, ulong x, ulong y, int n, int c, long s, ulong gamma, ulong beta, double eps,
        ulong mean, ulong rstd, ulong runningMean, ulong runningVar, double factor)
    {
        if ((long)n * c * s == 0) return;
        var g = NormGeometry.Batch(n, c, s);
        int w = f64 ? 8 : 4;
        uint parts = BatchParts(c, g.M, w), run = runningMean != 0 && runningVar != 0 ? 1u : 0u;
        double unbias = g.M > 1 ? (double)g.M / (g.M - 1) : double.PositiveInfinity;
        if (parts == 1)
        {
            Forward(f64, g, 1, 0, Cap(g.M, w), x, y, gamma, beta, mean, rstd, 0, 0, runningMean, runningVar, run, eps, factor, unbias);
            return;
        }
        ulong ws = Workspace((ulong)c * parts * 24);
        try
        {
            // Launch 1: Welford partial per (channel, part); launch 2: Chan-merge them and normalize.
            Forward(f64, g, parts, 3, 0, x, y, gamma, beta, mean, rstd, ws, 0, runningMean, runningVar, 0, eps, factor, unbias);
            Forward(f64, g, parts, 1, 0, x, y, gamma, beta, mean, rstd, ws, 0, runningMean, runningVar, run, eps, factor, unbias);
        }
        finally { _free(ws); }
    }

    /// <summary>Eval forward with running statistics (also InstanceNorm eval with tracked statistics).</summary>
    public void BatchNormForwardEval(bool f64, ulong x, ulong y, int n, int c, long s, ulong runningMean, ulong runningVar,
        double eps, ulong gamma, ulong beta)
    {
        if ((long)n * c * s == 0) return;
        var g = NormGeometry.Batch(n, c, s);
        uint parts = SplitParts(c, g.M); // no statistics pass: split only for parallelism
        Forward(f64, g, parts, 2, 0, x, y, gamma, beta, 0, 0, 0, 0, runningMean, runningVar, 0, eps, 0, 0);
    }

    /// <summary>Training backward: (sum dy, sum dy (x - mean)) per channel, dgamma, dbeta, dx.</summary>
    public void BatchNormBackward(bool f64, ulong x, ulong dy, int n, int c, long s, ulong mean, ulong rstd, ulong gamma,
        ulong dx, ulong dgamma, ulong dbeta)
    {
        if ((long)n * c * s == 0) return;
        var g = NormGeometry.Batch(n, c, s);
        int w = f64 ? 8 : 4;
        uint parts = BatchParts(c, g.M, 2 * w);
        if (parts == 1)
        {
            Backward(f64, g, 1, 0, Cap(g.M, 2 * w), x, dy, dx, gamma, mean, rstd, dgamma, dbeta, 0, 0, 1, false, 0);
            return;
        }
        ulong ws = Workspace((ulong)c * parts * 16);
        try
        {
            Backward(f64, g, parts, 3, 0, x, dy, dx, gamma, mean, rstd, dgamma, dbeta, ws, 0, 1, false, 0);
            Backward(f64, g, parts, 1, 0, x, dy, dx, gamma, mean, rstd, dgamma, dbeta, ws, 0, 1, false, 0);
        }
        finally { _free(ws); }
    }

    /// <summary>Backward through running statistics: dx = gamma dy / sqrt(rv + eps); sums only when dgamma/dbeta are wanted.</summary>
    public void BatchNormBackwardEval(bool f64, ulong x, ulong dy, int n, int c, long s, ulong runningMean, ulong runningVar,
        double eps, ulong gamma, ulong dx, ulong dgamma, ulong dbeta)
    {
        if ((long)n * c * s == 0) return;
        var g = NormGeometry.Batch(n, c, s);
        uint parts = SplitParts(c, g.M);
        if (dgamma == 0 && dbeta == 0)
        {
            if (dx != 0) Backward(f64, g, parts, 2, 0, x, dy, dx, gamma, runningMean, runningVar, 0, 0, 0, 0, 0, true, eps);
            return;
        }
        ulong ws = Workspace((ulong)c * parts * 16);
        try
        {
            Backward(f64, g, parts, 3, 0, x, dy, dx, gamma, runningMean, runningVar, dgamma, dbeta, ws, 0, 1, true, eps);
            Backward(f64, g, parts, 1, 0, x, dy, dx, gamma, runningMean, runningVar, dgamma, dbeta, ws, 0, 1, true, eps);
        }
        finally { _free(ws); }
    }

    // ---------------------------------------------------------------- GroupNorm / InstanceNorm / LayerNorm

    /// <summary>GroupNorm forward (InstanceNorm when groups = C); running statistics need groups = C.</summary>
    public void GroupNormForward(bool f64, ulong x, ulong y, int n, int c, long s, int groups, ulong gamma, ulong beta, double eps,
        ulong mean, ulong rstd, ulong runningMean, ulong runningVar, double factor)
    {
        if (groups <= 0 || c % groups != 0)
            throw new ArgumentException($"channels ({c}) must be divisible by groups ({groups})", nameof(groups));
        bool running = runningMean != 0 || runningVar != 0;
        if (running && groups != c)
            throw new ArgumentException($"running statistics need one group per channel (groups = {groups}, channels = {c})", nameof(groups));
        if ((long)n * c * s == 0) return;
        var g = NormGeometry.Group(n, c, s, groups);
        uint cap = Cap(g.M, f64 ? 8 : 4);
        if (!running)
        {
            Forward(f64, g, 1, 0, cap, x, y, gamma, beta, mean, rstd, 0, 0, 0, 0, 0, eps, 0, 0);
            return;
        }
        ulong st = Workspace(g.G * 16);
        try
        {
            // Launch 2 averages the per-instance (mean, var) over the batch into the running buffers.
            Forward(f64, g, 1, 0, cap, x, y, gamma, beta, mean, rstd, 0, st, 0, 0, 2, eps, 0, 0);
            double unbias = s > 1 ? (double)s / (s - 1) : double.PositiveInfinity;
            ChannelSum(f64, st, runningMean, runningVar, n, c, 1, factor, unbias);
        }
        finally { _free(st); }
    }

    /// <summary>GroupNorm backward: dx in one kernel; dgamma/dbeta from its per-plane sums (InstanceNorm) or a second reduction.</summary>
    public void GroupNormBackward(bool f64, ulong x, ulong dy, int n, int c, long s, int groups, ulong mean, ulong rstd, ulong gamma,
        ulong dx, ulong dgamma, ulong dbeta)
    {
        if (groups <= 0 || c % groups != 0)
            throw new ArgumentException($"channels ({c}) must be divisible by groups ({groups})", nameof(groups));
        if ((long)n * c * s == 0) return;
        var g = NormGeometry.Group(n, c, s, groups);
        uint cap = Cap(g.M, f64 ? 16 : 8);
        bool param = dgamma != 0 || dbeta != 0;
        if (groups == c && param)
        {
            ulong pg = Workspace(g.G * 16);
            try
            {
                Backward(f64, g, 1, 0, cap, x, dy, dx, gamma, mean, rstd, 0, 0, 0, pg, 2, false, 0);
                ChannelSum(f64, pg, dgamma, dbeta, n, c, 0, 0, 0);
            }
            finally { _free(pg); }
            return;
        }
        if (dx != 0) Backward(f64, g, 1, 0, cap, x, dy, dx, gamma, mean, rstd, 0, 0, 0, 0, 0, false, 0);
        if (param) ParamGrad(f64, NormGeometry.Batch(n, c, s), (ulong)groups, (ulong)(c / groups), x, dy, mean, rstd, dgamma, dbeta);
    }

    /// <summary>LayerNorm forward over rows of <paramref name="d"/> elements.</summary>
    public void LayerNormForward(bool f64, ulong x, ulong y, long rows, int d, ulong gamma, ulong beta, double eps, ulong mean, ulong rstd)
    {
        if (rows * d == 0) return;
        var g = NormGeometry.Layer(rows, d);
        Forward(f64, g, 1, 0, Cap(g.M, f64 ? 8 : 4), x, y, gamma, beta, mean, rstd, 0, 0, 0, 0, 0, eps, 0, 0);
    }

    /// <summary>LayerNorm backward: dx per row, then dgamma/dbeta as column sums.</summary>
    public void LayerNormBackward(bool f64, ulong x, ulong dy, long rows, int d, ulong mean, ulong rstd, ulong gamma,
        ulong dx, ulong dgamma, ulong dbeta)
    {
        if (rows * d == 0) return;
        var g = NormGeometry.Layer(rows, d);
        if (dx != 0) Backward(f64, g, 1, 0, Cap(g.M, f64 ? 16 : 8), x, dy, dx, gamma, mean, rstd, 0, 0, 0, 0, 0, false, 0);
        if (dgamma != 0 || dbeta != 0)
            ParamGrad(f64, NormGeometry.Batch(rows, d, 1), 1, (ulong)d, x, dy, mean, rstd, dgamma, dbeta);
    }
}
