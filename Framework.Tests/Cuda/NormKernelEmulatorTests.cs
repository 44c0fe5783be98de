using NUnit.Framework;

namespace Framework.Tests.CudaKernels;

/// <summary>
/// Every kernel of kernels/norm.ptx, norm_bwd.ptx on edge shapes, raw through the emulated driver with its
/// sanitizer checks on (bounds, shared races, barrier/shuffle divergence, uninitialised registers)
/// and exact, uncached allocations, against the CPU NormKernels on the same data.
/// Tolerances: float32 2e-5 (absolute + relative): both sides accumulate in float64 and round
/// the statistics and affine constants once to float32 (~6e-8 relative each), then apply them in
/// float32 with a different operation order, so results differ by a few float32 ulps of values of
/// order 1; sums over a group (dgamma, dbeta) are compared relative to their size. float64 1e-12.
/// </summary>
public class NormKernelEmulatorTests
{
    private static void Compare(List<(string Name, double[] Gpu, double[] Cpu)> outputs, double tol, string label)
    {
        Assert.That(outputs, Is.Not.Empty);
        foreach (var (name, gpu, cpu) in outputs)
        {
            double scale = 1;
            foreach (double v in cpu) if (double.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
            for (int i = 0; i < cpu.Length; i++)
            {
                if (double.IsNaN(cpu[i])) { Assert.That(double.IsNaN(gpu[i]), Is.True, $"{label} {name}[{i}]: expected NaN, got {gpu[i]}"); continue; }
                Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(tol * scale), $"{label} {name}[{i}]");
            }
        }
    }

    private static void Both(NormOp op, int n, int c, int s, NormKernelCase.Options? o = null, NormKernelRig? rigOverride = null)
    {
        o ??= new NormKernelCase.Options();
        var rig = rigOverride ?? new NormKernelRig();
        try
        {
            Compare(NormKernelCase.Run<float>(rig, op, n, c, s, o), 2e-5, $"{op} {n}x{c}x{s} f32");
            Compare(NormKernelCase.Run<double>(rig, op, n, c, s, o), 1e-12, $"{op} {n}x{c}x{s} f64");
        }
        finally { if (rigOverride is null) rig.Dispose(); }
    }

    // [N, C, S]: one element per channel/plane where the op allows it, odd sizes, planes around a
    // warp (32), a block (256) and 1024, with and without affine/running buffers.
    private static readonly int[][] Shapes =
    [
        [2, 3, 5], [1, 1, 2], [5, 2, 1], [3, 2, 31], [2, 2, 33], [1, 3, 255], [1, 2, 257], [1, 1, 1023], [1, 1, 1025],
    ];

    private static IEnumerable<TestCaseData> Cases(params NormOp[] ops)
    {
        foreach (NormOp op in ops)
            foreach (int[] s in Shapes)
            {
                // Batch statistics need 2 values per group: skip shapes that give 1.
                bool groupStats = op is NormOp.GroupFwd or NormOp.GroupBwd or NormOp.LayerFwd or NormOp.LayerBwd;
                if (groupStats && s[2] < 2) continue;
                yield return new TestCaseData(op, s[0], s[1], s[2]).SetArgDisplayNames(op.ToString(), $"{s[0]}x{s[1]}x{s[2]}");
            }
    }

    private static IEnumerable<TestCaseData> AllCases() => Cases(Enum.GetValues<NormOp>());

    [TestCaseSource(nameof(AllCases))]
    public void MatchesCpu(NormOp op, int n, int c, int s) => Both(op, n, c, s);

    [TestCase(NormOp.BatchFwd)]
    [TestCase(NormOp.BatchBwd)]
    [TestCase(NormOp.BatchEval)]
    [TestCase(NormOp.BatchBwdEval)]
    [TestCase(NormOp.GroupFwd)]
    [TestCase(NormOp.GroupBwd)]
    [TestCase(NormOp.LayerFwd)]
    [TestCase(NormOp.LayerBwd)]
    public void WithoutAffineOrRunningBuffers(NormOp op) =>
        Both(op, 2, 3, 17, new NormKernelCase.Options(Affine: false, Running: op is NormOp.BatchEval or NormOp.BatchBwdEval));

    [TestCase(true, false, false)]
    [TestCase(false, true, false)]
    [TestCase(false, false, true)]
    [TestCase(false, true, true)]
    public void BackwardWithSomeGradientsOnly(bool dx, bool dgamma, bool dbeta)
    {
        var o = new NormKernelCase.Options(Dx: dx, DGamma: dgamma, DBeta: dbeta);
        foreach (NormOp op in new[] { NormOp.BatchBwd, NormOp.BatchBwdEval, NormOp.GroupBwd, NormOp.LayerBwd })
            Both(op, 2, 4, 9, o);
        Both(NormOp.GroupBwd, 2, 4, 9, o with { Groups = 2 });
    }

    [TestCase(1, TestName = "GroupNorm one group")]
    [TestCase(2, TestName = "GroupNorm two channels per group")]
    [TestCase(3, TestName = "GroupNorm odd channels per group")]
    public void GroupNormWithSeveralChannelsPerGroup(int groups)
    {
        int c = groups == 3 ? 9 : 6;
        Both(NormOp.GroupFwd, 2, c, 7, new NormKernelCase.Options(Groups: groups, Running: false));
        Both(NormOp.GroupBwd, 2, c, 7, new NormKernelCase.Options(Groups: groups));
        Both(NormOp.GroupBwd, 3, c, 1, new NormKernelCase.Options(Groups: groups)); // S = 1: one element per channel
    }

    /// <summary>BatchNorm channels split over several blocks (Welford partials + Chan merge; sum partials).</summary>
    [TestCase(3, 2, 700)]
    [TestCase(5, 1, 333)]
    public void BatchNormSplitOverParts(int n, int c, int s)
    {
        foreach (NormOp op in new[] { NormOp.BatchFwd, NormOp.BatchEval, NormOp.BatchBwd, NormOp.BatchBwdEval })
        {
            using var rig = new NormKernelRig(threads: 64, cacheBytes: 1024, targetBlocks: 16, partElements: 256);
            Assert.That(rig.Launcher.BatchParts(c, (ulong)(n * s), 4), Is.GreaterThan(1));
            Both(op, n, c, s, rigOverride: rig);
        }
    }

    /// <summary>
    /// Groups larger than the shared-memory cache: the head in shared memory (cap = 50 float32 here),
    /// each thread's next 18 elements in registers, and (for 1500) the rest read twice from global memory.
    /// </summary>
    [TestCase(NormOp.BatchFwd, 150)]
    [TestCase(NormOp.BatchBwd, 150)]
    [TestCase(NormOp.GroupFwd, 150)]
    [TestCase(NormOp.GroupBwd, 150)]
    [TestCase(NormOp.LayerFwd, 150)]
    [TestCase(NormOp.LayerBwd, 150)]
    [TestCase(NormOp.BatchFwd, 1500)]
    [TestCase(NormOp.BatchBwd, 1500)]
    [TestCase(NormOp.GroupFwd, 1500)]
    [TestCase(NormOp.GroupBwd, 1500)]
    [TestCase(NormOp.LayerFwd, 1500)]
    [TestCase(NormOp.LayerBwd, 1500)]
    public void GroupPartlyOnChip(NormOp op, int s)
    {
        using var rig = new NormKernelRig(threads: 32, cacheBytes: 200, targetBlocks: 1);
        Both(op, 2, 3, s, rigOverride: rig);
    }

    /// <summary>A plane over the real 46 KiB cache (13000 float32 elements), at the default launch shape.</summary>
    [Test]
    public void PlaneLargerThanSharedMemory()
    {
        using var rig = new NormKernelRig();
        var o = new NormKernelCase.Options();
        Compare(NormKernelCase.Run<float>(rig, NormOp.GroupFwd, 1, 1, 13000, o), 2e-5, "fwd");
        Compare(NormKernelCase.Run<float>(rig, NormOp.GroupBwd, 1, 1, 13000, o), 2e-5, "bwd");
        Compare(NormKernelCase.Run<float>(rig, NormOp.BatchFwd, 1, 1, 13000, o), 2e-5, "bn fwd");
    }

    /// <summary>More groups than grid rows: the grid-stride loop over groups (grid y capped at 5 here).</summary>
    [Test]
    public void MoreGroupsThanGridRows()
    {
        using var rig = new NormKernelRig(threads: 32, maxGridY: 5);
        foreach (NormOp op in Enum.GetValues<NormOp>()) Both(op, 3, 7, 3, rigOverride: op == NormOp.LayerBwd ? null : rig);
    }
}
