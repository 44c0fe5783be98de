using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.CudaKernels;

/// <summary>
/// Global memory traffic, launches and the special inputs (NaN/Inf, a large mean, empty batches) of
/// the norm kernels, on the emulator with exact allocations and every check on.
/// </summary>
public class NormKernelTrafficTests
{
    private static EmulatorCounters Measure(NormKernelRig rig, Action run)
    {
        rig.Driver.ResetCounters();
        run();
        return rig.Driver.Totals;
    }

    /// <summary>
    /// InstanceNorm with a plane that fits in shared memory is at the floor: x read once, y written
    /// once (plus a few bytes per plane: gamma, beta in; mean, rstd out); backward reads x and dy
    /// once and writes dx once (plus per-plane scalars and the f64 partials for dgamma/dbeta).
    /// </summary>
    [Test]
    public void InstanceNormAtTheFloorWhenThePlaneFits()
    {
        using var rig = new NormKernelRig();
        const int n = 2, c = 3, s = 1000, len = n * c * s, g = n * c;
        ulong x = rig.Up(NormKernelRig.Random(len, 1)), y = rig.Up(new float[len]), dy = rig.Up(NormKernelRig.Random(len, 2));
        ulong gamma = rig.Up(new float[c]), beta = rig.Up(new float[c]), mean = rig.Up(new float[g]), rstd = rig.Up(new float[g]);
        ulong dx = rig.Up(new float[len]), dg = rig.Up(new float[c]), db = rig.Up(new float[c]);
        var fwd = Measure(rig, () => rig.Launcher.GroupNormForward(false, x, y, n, c, s, c, gamma, beta, 1e-5, mean, rstd, 0, 0, 0));
        Assert.That(fwd.Launches, Is.EqualTo(1));
        Assert.That(fwd.GlobalBytesRead, Is.EqualTo(4L * len + 8 * g), "x once, gamma and beta once per plane");
        Assert.That(fwd.GlobalBytesWritten, Is.EqualTo(4L * len + 8 * g), "y once, mean and rstd per plane");
        var bwd = Measure(rig, () => rig.Launcher.GroupNormBackward(false, x, dy, n, c, s, c, mean, rstd, gamma, dx, dg, db));
        Assert.That(bwd.Launches, Is.EqualTo(2));
        Assert.That(bwd.GlobalBytesRead, Is.EqualTo(8L * len + 12 * g + 16 * g), "x, dy once; mean, rstd, gamma per plane; partials");
        Assert.That(bwd.GlobalBytesWritten, Is.EqualTo(4L * len + 16 * g + 8 * c), "dx once; partials; dgamma, dbeta");
    }

    /// <summary>BatchNorm: at most 3 passes forward and 5 backward, in at most 2 launches each, also when split.</summary>
    [TestCase(2, 3, 1000, 256)]
    [TestCase(4, 2, 3000, 4)]
    public void BatchNormPassesAndLaunches(int n, int c, int s, int targetBlocks)
    {
        using var rig = new NormKernelRig(targetBlocks: targetBlocks, partElements: 1024);
        int len = n * c * s;
        ulong x = rig.Up(NormKernelRig.Random(len, 1)), y = rig.Up(new float[len]), dy = rig.Up(NormKernelRig.Random(len, 2));
        ulong gamma = rig.Up(new float[c]), beta = rig.Up(new float[c]), mean = rig.Up(new float[c]), rstd = rig.Up(new float[c]);
        ulong rm = rig.Up(new float[c]), rv = rig.Up(new float[c]), dx = rig.Up(new float[len]), dg = rig.Up(new float[c]), db = rig.Up(new float[c]);
        var fwd = Measure(rig, () => rig.Launcher.BatchNormForward(false, x, y, n, c, s, gamma, beta, 1e-5, mean, rstd, rm, rv, 0.1));
        var bwd = Measure(rig, () => rig.Launcher.BatchNormBackward(false, x, dy, n, c, s, mean, rstd, gamma, dx, dg, db));
        double fwdPasses = (fwd.GlobalBytesRead + fwd.GlobalBytesWritten) / (4.0 * len);
        double bwdPasses = (bwd.GlobalBytesRead + bwd.GlobalBytesWritten) / (4.0 * len);
        Assert.That(fwd.Launches, Is.LessThanOrEqualTo(2));
        Assert.That(bwd.Launches, Is.LessThanOrEqualTo(2));
        Assert.That(fwdPasses, Is.LessThanOrEqualTo(3.05), "forward passes of 4 bytes per element");
        Assert.That(bwdPasses, Is.LessThanOrEqualTo(5.05), "backward passes of 4 bytes per element");
        if (targetBlocks == 256) Assert.That(fwdPasses, Is.LessThan(2.05), "a channel that fits is read once");
    }

    /// <summary>
    /// A plane over the shared-memory cache but within shared memory + the register slots (128x128
    /// float32: 11776 + 18 x 256) is still read once forward; backward re-reads only what neither holds.
    /// </summary>
    [Test]
    public void PlaneInSharedMemoryAndRegisters()
    {
        using var rig = new NormKernelRig();
        const int s = 128 * 128;
        ulong x = rig.Up(NormKernelRig.Random(s, 1)), y = rig.Up(new float[s]), dy = rig.Up(NormKernelRig.Random(s, 2));
        ulong mean = rig.Up(new float[1]), rstd = rig.Up(new float[1]), dx = rig.Up(new float[s]);
        var fwd = Measure(rig, () => rig.Launcher.GroupNormForward(false, x, y, 1, 1, s, 1, 0, 0, 1e-5, mean, rstd, 0, 0, 0));
        Assert.That(fwd.GlobalBytesRead, Is.EqualTo(4L * s));
        Assert.That(fwd.GlobalBytesWritten, Is.EqualTo(4L * s + 8));
        var bwd = Measure(rig, () => rig.Launcher.GroupNormBackward(false, x, dy, 1, 1, s, 1, mean, rstd, 0, dx, 0, 0));
        long onChip = 46 * 1024 / 8 + 18 * 256; // (x, dy) pairs: shared head + registers
        Assert.That(bwd.GlobalBytesRead, Is.EqualTo(8L * s + 8L * (s - onChip) + 8), "x, dy once; the rest twice; mean, rstd");
    }

    /// <summary>NaN or Inf in one group makes that group's outputs NaN; every other group is unaffected.</summary>
    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void NonFiniteInputStaysInItsGroup(float bad)
    {
        foreach (NormOp op in new[] { NormOp.GroupFwd, NormOp.BatchFwd, NormOp.LayerFwd })
        {
            using var rig = new NormKernelRig();
            const int n = 2, c = 3, s = 40;
            var o = new NormKernelCase.Options(Running: false, Poison: x => x[1 * s + 7] = bad); // sample 0, channel 1
            var y = NormKernelCase.Run<float>(rig, op, n, c, s, o).Single(r => r.Name == "y").Gpu;
            for (int i = 0; i < y.Length; i++)
            {
                int ch = i / s % c, row = i / s;
                bool inGroup = op switch { NormOp.BatchFwd => ch == 1, _ => row == 1 };
                Assert.That(double.IsFinite(y[i]), Is.EqualTo(!inGroup), $"{op} y[{i}] = {y[i]}");
            }
        }
    }

    /// <summary>NORMS.md numerics: x = 1e4 + randn, (8, 4, 32, 32), float32 output within 1e-3 of a float64 reference.</summary>
    [TestCase(NormOp.BatchFwd)]
    [TestCase(NormOp.GroupFwd)]
    public void LargeMeanIsStable(NormOp op)
    {
        using var rig = new NormKernelRig();
        var o = new NormKernelCase.Options(Shift: 1e4, Scale: 1, Affine: false, Running: false);
        var f32 = NormKernelCase.Run<float>(rig, op, 8, 4, 1024, o).Single(r => r.Name == "y");
        var f64 = NormKernelCase.Run<double>(rig, op, 8, 4, 1024, o).Single(r => r.Name == "y");
        for (int i = 0; i < f32.Gpu.Length; i++)
            Assert.That(f32.Gpu[i], Is.EqualTo(f64.Cpu[i]).Within(1e-3), $"y[{i}]");
    }

    /// <summary>An empty batch launches nothing and writes nothing.</summary>
    [Test]
    public void EmptyBatchIsANoOp()
    {
        using var rig = new NormKernelRig();
        var t = Measure(rig, () =>
        {
            rig.Launcher.BatchNormForward(false, 0, 0, 0, 3, 5, 0, 0, 1e-5, 0, 0, 0, 0, 0.1);
            rig.Launcher.BatchNormBackward(false, 0, 0, 0, 3, 5, 0, 0, 0, 0, 0, 0);
            rig.Launcher.GroupNormForward(false, 0, 0, 0, 3, 5, 3, 0, 0, 1e-5, 0, 0, 0, 0, 0.1);
            rig.Launcher.GroupNormBackward(false, 0, 0, 0, 3, 5, 3, 0, 0, 0, 0, 0, 0);
            rig.Launcher.LayerNormForward(false, 0, 0, 0, 5, 0, 0, 1e-5, 0, 0);
        });
        Assert.That(t.Launches, Is.EqualTo(0));
    }

    /// <summary>N*C above the 65535 grid-y limit at the real limit (1-warp blocks, S = 2 to stay cheap).</summary>
    [Test]
    public void MoreInstancesThanOneGridDimension()
    {
        using var rig = new NormKernelRig(threads: 32);
        var o = new NormKernelCase.Options(Affine: true, Running: false);
        var outputs = NormKernelCase.Run<float>(rig, NormOp.GroupFwd, 2, 33000, 2, o);
        foreach (var (name, gpu, cpu) in outputs)
            for (int i = 0; i < cpu.Length; i++)
                Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(2e-5 * (1 + Math.Abs(cpu[i]))), $"{name}[{i}]");
    }
}
