using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The four norm functions through the public API on the emulated GPU against the CPU backend, float32,
/// values and gradients (x, weight, bias) of sum(y * g): this covers CudaBackend.Norm.cs's unpacking
/// ([N, C, S] views, LayerNorm rows) beside the kernel-level tests. Tolerance 2e-5 relative to the
/// largest value: both backends accumulate in float64 and round once to float32; the order of the
/// float32 operations differs (a few ulps), and gradient sums of up to ~2000 terms differ in rounding.
/// </summary>
public class NormBackendTests
{
    private static readonly Device Gpu = Device.CudaEmulated(0);

    private static void Close(Tensor a, Tensor b, string what)
    {
        float[] x = a.To(Device.Cpu).ToArray<float>(), y = b.ToArray<float>();
        Assert.That(x.Length, Is.EqualTo(y.Length), what);
        double scale = Math.Max(1, y.Max(v => Math.Abs((double)v)));
        for (int i = 0; i < x.Length; i++) Assert.That(x[i], Is.EqualTo(y[i]).Within(2e-5 * scale), $"{what}[{i}]");
    }

    private static void Compare(int[] shape, int affine, Func<Tensor, Tensor?, Tensor?, Tensor> f)
    {
        using var scope = new TensorScope();
        var g = new Generator(7);
        var x = Tensor.Randn(shape, g);
        var dy = Tensor.Randn(shape, g);
        var w = Tensor.Randn([affine], g);
        var b = Tensor.Randn([affine], g);
        Tensor[] Run(Device d)
        {
            var xs = x.To(d).Detach().SetRequiresGrad();
            var ws = w.To(d).Detach().SetRequiresGrad();
            var bs = b.To(d).Detach().SetRequiresGrad();
            var y = f(xs, ws, bs);
            y.Backward(dy.To(d));
            return [y, xs.Grad!, ws.Grad!, bs.Grad!];
        }
        var cpu = Run(Device.Cpu);
        var gpu = Run(Gpu);
        string[] names = ["y", "dx", "dweight", "dbias"];
        for (int i = 0; i < 4; i++) Close(gpu[i], cpu[i], names[i]);
    }

    [TestCase(2, 6, 5, 7, 3)]
    [TestCase(3, 4, 1, 9, 4)]
    [TestCase(1, 6, 4, 4, 1)]
    public void GroupNorm(int n, int c, int h, int w, int groups) =>
        Compare([n, c, h, w], c, (x, wt, b) => F.GroupNorm(x, groups, wt, b));

    [TestCase(4, 3, 33)]
    [TestCase(2, 5, 257)]
    public void LayerNorm(int a, int b, int d) =>
        Compare([a, b, d], d, (x, wt, bs) => F.LayerNorm(x, [d], wt, bs));

    [TestCase(3, 4, 5, 6)]
    public void LayerNormOverTwoDims(int a, int b, int h, int w) =>
        Compare([a, b, h, w], h * w, (x, wt, bs) => F.LayerNorm(x, [h, w], wt!.Reshape([h, w]), bs!.Reshape([h, w])));
}

/// <summary>The norm modules' device memory, workspaces included, comes back after training-like iterations.</summary>
public class NormMemoryTests
{
    [Test]
    public void TrainingIterationsReturnEveryByte()
    {
        var backend = Framework.Cuda.Emulator.EmulatedCuda.Backend(0);
        var dev = Device.CudaEmulated(0);
        using var bn = new Framework.Nn.BatchNorm2d(3, device: dev);
        using var inorm = new Framework.Nn.InstanceNorm2d(3, trackRunningStats: true, device: dev);
        var g = new Generator(3);
        using (var warm = new TensorScope()) Step();
        long before = backend.AllocatedBytes;
        for (int i = 0; i < 50; i++)
        {
            using var scope = new TensorScope();
            Step();
        }
        Assert.That(backend.AllocatedBytes, Is.EqualTo(before));

        void Step()
        {
            // 2 x 3 x 40 x 40: a BatchNorm channel of 3200 elements fits on chip; InstanceNorm with running
            // statistics and dgamma/dbeta uses the f64 workspaces (per-instance statistics, partial sums).
            var x = Tensor.Randn([2, 3, 40, 40], g, DType.Float32, dev).SetRequiresGrad();
            var y = inorm.Forward(bn.Forward(x));
            y.Backward(Tensor.Randn([2, 3, 40, 40], g, DType.Float32, dev));
            x.Grad!.Dispose(); // gradients are owned by their tensor, not by the scope
            bn.ZeroGrad();
            inorm.ZeroGrad();
        }
    }
}
