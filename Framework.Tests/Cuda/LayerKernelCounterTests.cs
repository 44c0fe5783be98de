using Framework.Backends;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The interpreter's counters for the layer kernels (conv, pool, index, optim) on representative
/// shapes, printed as the table rows of kernels/README.md. Where the traffic is fixed by the
/// algorithm it is asserted: pooling and the optimizer steps read each input and state element once
/// and write each output once; im2col writes each column element once; col2im writes each pixel once.
/// </summary>
public class LayerKernelCounterTests : KernelEdgeTestBase
{
    private EmulatorCounters Measure(Action launch)
    {
        launch(); // the first call loads the module
        Driver.ResetCounters();
        launch();
        return Driver.Totals;
    }

    private static (double Read, double Written) Row(string kernel, string shape, EmulatorCounters c, long elements, string per)
    {
        double read = (double)c.GlobalBytesRead / elements, written = (double)c.GlobalBytesWritten / elements;
        string atomics = c.AtomicOperations == 0 ? "-" : $"{(double)c.GlobalAtomicBytes / elements:F2}";
        TestContext.Out.WriteLine($"| `{kernel}` | {shape} | {per} | {c.Launches}{(c.BlasCalls > 0 ? $" + {c.BlasCalls} BLAS" : "")} | " +
            $"{(double)c.Instructions / elements:F1} | {read:F2} | {written:F2} | {atomics} |");
        return (read, written);
    }

    private const string Header = "| kernel | shape | per | launches | instr/elem | read B/elem | written B/elem | atomic B/elem |\n|---|---|---|---|---|---|---|---|";

    [Test]
    public void ConvAndPoolKernels()
    {
        TestContext.Out.WriteLine(Header);
        var g = new Conv2dGeometry(4, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        long pixels = (long)g.N * g.C * g.H * g.W, colElems = (long)g.N * g.ColRows * g.ColCols;
        using var x = Random([g.N, g.C, g.H, g.W], DType.Float32, 1).To(Dev);
        using var cols = EmptyGpu([g.N, g.ColRows, g.ColCols], DType.Float32);
        var (_, w) = Row("im2col_f32", "[4,16,32,32] k3 p1", Measure(() => Gpu.Im2Col(x, cols, g)), colElems, "column element");
        Assert.That(w, Is.EqualTo(4), "im2col writes each column element once");
        using var dx = EmptyGpu([g.N, g.C, g.H, g.W], DType.Float32);
        (_, w) = Row("col2im_f32", "[4,16,32,32] k3 p1", Measure(() => Gpu.Col2Im(cols, dx, g)), pixels, "pixel");
        Assert.That(w, Is.EqualTo(4), "col2im writes each pixel once");
        using var weight = Random([16, 16, 3, 3], DType.Float32, 2).To(Dev);
        using var bias = Random([16], DType.Float32, 3).To(Dev);
        using var y = EmptyGpu([g.N, g.OutC, g.OH, g.OW], DType.Float32);
        long outs = y.Numel;
        Row("bias_fill + im2col + sgemm", "conv2d fwd [4,16,32,32] -> 16, k3 p1", Measure(() => Gpu.Conv2d(x, weight, bias, y, g)), outs, "output");
        using var dw = EmptyGpu([16, 16, 3, 3], DType.Float32);
        using var db = EmptyGpu([16], DType.Float32);
        Row("channel_sum + fill x2 + im2col + sgemm (batched partials) + sgemm (sum) + sgemm + col2im", "conv2d bwd, same", Measure(() => Gpu.Conv2dBackward(x, weight, y, dx, dw, db, g)), outs, "output");
        Row("channel_sum_f32", "dbias of [4,16,32,32]", Measure(() => Gpu.Conv2dBackward(x, weight, y, null, null, db, g)), outs, "dy element");

        var p = new Pool2dGeometry(4, 16, 32, 32, 16, 16, 2, 2, 2, 2, 0, 0, 1, 1);
        long pouts = (long)p.N * p.C * p.OH * p.OW;
        using var py = EmptyGpu([p.N, p.C, p.OH, p.OW], DType.Float32);
        using var pi = EmptyGpu([p.N, p.C, p.OH, p.OW], DType.Int64);
        var (r, wr) = Row("maxpool_f32", "[4,16,32,32] k2 s2", Measure(() => Gpu.MaxPool2d(x, py, pi, p)), pouts, "output");
        Assert.That((r, wr), Is.EqualTo((16.0, 12.0)), "maxpool: a 2x2 window read once, value and int64 index written");
        (r, wr) = Row("avgpool_f32", "[4,16,32,32] k2 s2", Measure(() => Gpu.AvgPool2d(x, py, p)), pouts, "output");
        Assert.That((r, wr), Is.EqualTo((16.0, 4.0)), "avgpool: a 2x2 window read once, one value written");
        (r, wr) = Row("avgpool_bwd_f32", "[4,16,32,32] k2 s2", Measure(() => Gpu.AvgPool2dBackward(py, dx, p)), pixels, "pixel");
        Assert.That((r, wr), Is.EqualTo((4.0, 4.0)), "avgpool backward: one dy per pixel (non-overlapping windows), one dx written");
        var k3 = new Pool2dGeometry(4, 16, 32, 32, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1);
        Row("avgpool_bwd_f32", "[4,16,32,32] k3 s2 p1", Measure(() => Gpu.AvgPool2dBackward(py, dx, k3)), pixels, "pixel");
        var ada = new Pool2dGeometry(4, 16, 32, 32, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, Adaptive: true);
        using var ay = EmptyGpu([4, 16, 1, 1], DType.Float32);
        (r, _) = Row("avgpool_f32", "adaptive [4,16,32,32] -> 1x1", Measure(() => Gpu.AvgPool2d(x, ay, ada)), pixels, "input element");
        Assert.That(r, Is.EqualTo(4), "adaptive average pooling to 1x1 reads each input once");
    }

    [Test]
    public void IndexAndOptimizerKernels()
    {
        TestContext.Out.WriteLine(Header);
        const int n = 65536;
        using var data = Random([256, 256], DType.Float32, 1).To(Dev);
        using var index = Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)((i * 37) % 256)).ToArray(), [256, 256]).To(Dev);
        using var y = EmptyGpu([256, 256], DType.Float32);
        var (r, w) = Row("gather_f32", "[256,256] dim 1", Measure(() => Gpu.Gather(data, 1, index, y)), n, "index element");
        Assert.That((r, w), Is.EqualTo((12.0, 4.0)), "gather: index (8 B) and one data element read, one written");
        using var cls = Tensor.FromArray(Enumerable.Range(0, 256).Select(i => (long)(i % 10)).ToArray(), [256, 1]).To(Dev);
        using var picked = EmptyGpu([256, 1], DType.Float32);
        Row("gather_f32", "index [256,1] into [256,256], dim 1 (class picks)", Measure(() => Gpu.Gather(data, 1, cls, picked)), 256, "index element");
        (r, w) = Row("scatter_add_f32", "[256,256] dim 1", Measure(() => Gpu.ScatterAdd(data, 1, index, y)), n, "index element");
        Assert.That((r, w), Is.EqualTo((12.0, 0.0)), "scatter-add: index and src read; the add is an atomic");

        using var param = Random([n], DType.Float32, 2).To(Dev);
        using var grad = Random([n], DType.Float32, 3).To(Dev);
        using var buf = Random([n], DType.Float32, 4).To(Dev);
        using var m = Random([n], DType.Float32, 5).To(Dev);
        using var v = Random([n], DType.Float32, 6, 0, 1).To(Dev);
        using var vmax = Random([n], DType.Float32, 7, 0, 1).To(Dev);
        (r, w) = Row("sgd_f32", "65536, plain", Measure(() => Gpu.SgdStep(param, grad, null, 0.1, 0, 0, 0, false, false)), n, "parameter");
        Assert.That((r, w), Is.EqualTo((8.0, 4.0)));
        (r, w) = Row("sgd_f32", "65536, momentum + Nesterov + wd", Measure(() => Gpu.SgdStep(param, grad, buf, 0.1, 0.9, 0, 1e-4, true, false)), n, "parameter");
        Assert.That((r, w), Is.EqualTo((12.0, 8.0)));
        (r, w) = Row("adam_f32", "65536", Measure(() => Gpu.AdamStep(param, grad, m, v, null, 3, 1e-3, 0.9, 0.999, 1e-8, 0, false)), n, "parameter");
        Assert.That((r, w), Is.EqualTo((16.0, 12.0)));
        (r, w) = Row("adam_f32", "65536, AdamW + AMSGrad", Measure(() => Gpu.AdamStep(param, grad, m, v, vmax, 3, 1e-3, 0.9, 0.999, 1e-8, 1e-2, true)), n, "parameter");
        Assert.That((r, w), Is.EqualTo((20.0, 16.0)));
    }
}
