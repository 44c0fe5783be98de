using Framework.Backends;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// index.ptx and optim.ptx against the CPU backend on edge lengths, checks on, cache off. Gather
/// copies and the optimizer steps repeat the CPU's operations in its order with .rn rounding, so they
/// must agree exactly. Scatter-add adds through atomics in an unspecified order: int64 exactly,
/// float64 within 1e-12 and float32 within 1e-6 relative to the sum of the magnitudes added into an element.
/// </summary>
public class IndexOptimKernelTests : KernelEdgeTestBase
{
    private static Tensor Indices(int[] shape, int bound, int seed)
    {
        var rng = new Random(seed);
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var data = new long[n];
        for (long i = 0; i < n; i++) data[i] = rng.Next(bound);
        return Tensor.FromArray(data, shape);
    }

    /// <summary>(data shape, index shape, dim): index like the data but along dim, smaller in other dims, rank 1, and a rank-7 case that merges.</summary>
    private static IEnumerable<(int[] Data, int[] Index, int Dim)> Cases()
    {
        foreach (int n in EdgeSizes) yield return ([n], [n], 0);
        yield return ([3, 5], [3, 1], 1);
        yield return ([3, 5], [3, 7], 1);
        yield return ([4, 33], [2, 33], 0);
        yield return ([4, 6, 5], [4, 3, 5], 1);
        yield return ([4, 6, 5], [2, 3, 4], 2);
        yield return ([5, 2, 257], [3, 2, 257], 0);
        yield return ([2, 3, 1, 4, 2, 3, 2], [2, 3, 1, 4, 5, 3, 2], 4);
        yield return ([2, 3, 4, 5], [1, 3, 2, 5], 2);
    }

    [Test]
    public void GatherAndScatterAddMatchTheCpu([Values(DType.Float32, DType.Float64, DType.Int64)] DType dtype)
    {
        foreach (var (dshape, ishape, dim) in Cases())
        {
            string what = $"{dtype} data [{string.Join(",", dshape)}] index [{string.Join(",", ishape)}] dim {dim}";
            using var data = Random(dshape, dtype, dshape.Sum(), -9, 9);
            using var index = Indices(ishape, dshape[dim], ishape.Sum());
            using var dg = data.To(Dev);
            using var ig = index.To(Dev);
            using var y = EmptyCpu(ishape, dtype);
            using var yg = EmptyGpu(ishape, dtype);
            Cpu.Gather(data, dim, index, y);
            Gpu.Gather(dg, dim, ig, yg);
            AssertClose(y, yg, 0, 0, "gather " + what);
            using var src = Random(ishape, dtype, ishape.Sum() + 1, -9, 9);
            using var sg = src.To(Dev);
            Cpu.ScatterAdd(data, dim, index, src);
            Gpu.ScatterAdd(dg, dim, ig, sg);
            // at most (index numel) terms of magnitude <= 9 meet in one element, on top of |data| <= 9
            double bound = 9.0 * (ishape.Aggregate(1, (a, b) => a * b) + 1);
            double atol = dtype switch { DType.Float32 => 1e-6 * bound, DType.Float64 => 1e-13 * bound, _ => 0 };
            AssertClose(data, dg, 0, atol, "scatter_add " + what);
        }
    }

    private static IEnumerable<int> StepSizes() => EdgeSizes.Where(n => n <= 257).Append(1025);

    [Test]
    public void SgdStepMatchesTheCpuExactly([Values(DType.Float32, DType.Float64)] DType dtype,
        [Values(0.0, 0.9)] double momentum, [Values(false, true)] bool nesterov, [Values(0.0, 0.01)] double weightDecay)
    {
        if (nesterov && momentum == 0) Assert.Ignore("Nesterov needs momentum (refused by the optimizer)");
        foreach (int n in StepSizes())
        {
            using var p = Random([n], dtype, n);
            using var pg = p.To(Dev);
            using var buf = momentum != 0 ? EmptyCpu([n], dtype) : null;
            using var bufg = momentum != 0 ? EmptyGpu([n], dtype) : null;
            for (int step = 0; step < 3; step++)
            {
                using var grad = Random([n], dtype, n * 7 + step, -1, 1);
                using var gg = grad.To(Dev);
                Cpu.SgdStep(p, grad, buf, 0.1, momentum, 0.25, weightDecay, nesterov, step == 0);
                Gpu.SgdStep(pg, gg, bufg, 0.1, momentum, 0.25, weightDecay, nesterov, step == 0);
                string what = $"sgd {dtype} n={n} momentum={momentum} nesterov={nesterov} wd={weightDecay} step {step}";
                AssertClose(p, pg, 0, 0, what);
                if (buf is not null) AssertClose(buf, bufg!, 0, 0, what + " momentum buffer");
            }
        }
    }

    [Test]
    public void AdamStepMatchesTheCpuExactly([Values(DType.Float32, DType.Float64)] DType dtype,
        [Values(false, true)] bool decoupled, [Values(false, true)] bool amsgrad, [Values(0.0, 0.05)] double weightDecay)
    {
        foreach (int n in StepSizes())
        {
            using var p = Random([n], dtype, n);
            using var pg = p.To(Dev);
            using var m = Tensor.Zeros([n], dtype, Device.Cpu);
            using var v = Tensor.Zeros([n], dtype, Device.Cpu);
            using var vmax = amsgrad ? Tensor.Zeros([n], dtype, Device.Cpu) : null;
            using var mg = m.To(Dev);
            using var vg = v.To(Dev);
            using var vmaxg = vmax?.To(Dev);
            for (int step = 1; step <= 3; step++)
            {
                using var grad = Random([n], dtype, n * 5 + step, -1, 1);
                using var gg = grad.To(Dev);
                Cpu.AdamStep(p, grad, m, v, vmax, step, 1e-2, 0.9, 0.999, 1e-8, weightDecay, decoupled);
                Gpu.AdamStep(pg, gg, mg, vg, vmaxg, step, 1e-2, 0.9, 0.999, 1e-8, weightDecay, decoupled);
                string what = $"adam {dtype} n={n} decoupled={decoupled} amsgrad={amsgrad} wd={weightDecay} step {step}";
                AssertClose(p, pg, 0, 0, what);
                AssertClose(m, mg, 0, 0, what + " exp_avg");
                AssertClose(v, vg, 0, 0, what + " exp_avg_sq");
                if (vmax is not null) AssertClose(vmax, vmaxg!, 0, 0, what + " max_exp_avg_sq");
            }
        }
    }
}
