using Framework.Backends.Cpu;
using NUnit.Framework;

namespace Framework.Tests.CudaKernels;

/// <summary>
/// Every kernel of kernels/norm.ptx on edge shapes, raw through the emulated driver with its
/// sanitizer checks on and exact (uncached) allocations, against the CPU NormKernels on the same
/// float32 data. Tolerance: both sides accumulate in float64 and round once to float32, so outputs
/// of order 1 agree to a few float32 ulps; 2e-5 absolute + relative allows for the different
/// summation order and the float32 rounding of mean/rstd/affine constants (~1e-7 each).
/// </summary>
public unsafe class NormKernelEmulatorTests
{
    private const double Tol = 2e-5;

    private static void Close(float[] actual, float[] expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e)) { Assert.That(double.IsNaN(a), Is.True, $"{what}[{i}]: expected NaN, got {a}"); continue; }
            Assert.That(a, Is.EqualTo(e).Within(Tol * (1 + Math.Abs(e))), $"{what}[{i}]");
        }
    }

    [TestCase(2, 3, 5, true, TestName = "BatchNormForward small affine")]
    public void BatchNormForward(int n, int c, int s, bool affine)
    {
        using var rig = new NormKernelRig();
        int len = n * c * s;
        float[] x = NormKernelRig.Random(len, 1, 2, 3);
        float[]? gamma = affine ? NormKernelRig.Random(c, 2, 0.5, 1) : null, beta = affine ? NormKernelRig.Random(c, 3) : null;
        float[] rm = NormKernelRig.Random(c, 4), rv = Array.ConvertAll(NormKernelRig.Random(c, 5), v => 1 + Math.Abs(v));
        float[] y = new float[len], mean = new float[c], rstd = new float[c], rm2 = (float[])rm.Clone(), rv2 = (float[])rv.Clone();
        fixed (float* px = x, py = y, pg = gamma, pb = beta, pm = mean, pr = rstd, prm = rm2, prv = rv2)
            NormKernels.BatchNormForward(px, py, n, c, s, pg, pb, 1e-5, pm, pr, prm, prv, 0.1);
        ulong dx = rig.Up(x), dy = rig.Up(new float[len]), dg = rig.Up(gamma), db = rig.Up(beta), dm = rig.Up(new float[c]),
            dr = rig.Up(new float[c]), drm = rig.Up(rm), drv = rig.Up(rv);
        rig.Launcher.BatchNormForward(false, dx, dy, n, c, s, dg, db, 1e-5, dm, dr, drm, drv, 0.1);
        Close(rig.Down<float>(dy, len), y, "y");
        Close(rig.Down<float>(dm, c), mean, "mean");
        Close(rig.Down<float>(dr, c), rstd, "rstd");
        Close(rig.Down<float>(drm, c), rm2, "running_mean");
        Close(rig.Down<float>(drv, c), rv2, "running_var");
    }
}
