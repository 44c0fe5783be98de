using Framework.Backends;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The GPU performance figures: thread-instructions and global bytes per element that the interpreter
/// counts for one launch of each kernel on a representative shape (printed as the table rows of
/// kernels/README.md), with the traffic checked against the minimum: every input element read once
/// and every output written once.
/// </summary>
public class KernelCounterTests : KernelEdgeTestBase
{
    private const int Rows = 256, Cols = 256, N = Rows * Cols;

    private EmulatorCounters Measure(Action launch)
    {
        launch(); // first call loads the module
        Driver.ResetCounters();
        launch();
        return Driver.Totals;
    }

    private void Row(string kernel, string shape, EmulatorCounters c, long elements, double expectedBytesPerElement)
    {
        double bytes = (double)(c.GlobalBytesRead + c.GlobalBytesWritten) / elements;
        TestContext.Out.WriteLine($"| `{kernel}` | {shape} | {c.Launches} | {(double)c.Instructions / elements:F1} | {(double)c.GlobalBytesRead / elements:F2} | {(double)c.GlobalBytesWritten / elements:F2} | {bytes:F2} |");
        Assert.That(bytes, Is.EqualTo(expectedBytesPerElement).Within(0.01), $"{kernel}: global bytes per element");
    }

    [Test]
    public void ElementwiseKernels()
    {
        TestContext.Out.WriteLine("| kernel | shape | launches | instr/elem | read B/elem | written B/elem | total B/elem |");
        using var a = Random([Rows, Cols], DType.Float32, 1).To(Dev);
        using var b = Random([Rows, Cols], DType.Float32, 2).To(Dev);
        using var s = Random([1, 1], DType.Float32, 3).To(Dev);
        using var y = EmptyGpu([Rows, Cols], DType.Float32);
        using var a64 = Random([Rows, Cols], DType.Float64, 4).To(Dev);
        using var y64 = EmptyGpu([Rows, Cols], DType.Float64);
        Row("add_f32", "[256,256] dense", Measure(() => Gpu.Binary(BinaryOp.Add, a, b, y, 0, 0)), N, 12);
        Row("add_f32", "[256,256] + scalar (stride 0)", Measure(() => Gpu.Binary(BinaryOp.Add, a, s.Expand(Rows, Cols), y, 0, 0)), N, 12);
        Row("add_f32", "[256,256] + transposed (6-dim path)", Measure(() => Gpu.Binary(BinaryOp.Add, a, b.Transpose(0, 1), y, 0, 0)), N, 12);
        Row("mul_f32", "[256,256] dense", Measure(() => Gpu.Binary(BinaryOp.Mul, a, b, y, 0, 0)), N, 12);
        Row("relu_f32", "[256,256]", Measure(() => Gpu.Unary(UnaryOp.Relu, a, y, 0, 0)), N, 8);
        Row("exp_f32", "[256,256]", Measure(() => Gpu.Unary(UnaryOp.Exp, a, y, 0, 0)), N, 8);
        Row("exp_f64", "[256,256]", Measure(() => Gpu.Unary(UnaryOp.Exp, a64, y64, 0, 0)), N, 16);
        Row("log_f32", "[256,256]", Measure(() => Gpu.Unary(UnaryOp.Log, a, y, 0, 0)), N, 8);
        Row("tanh_f32", "[256,256]", Measure(() => Gpu.Unary(UnaryOp.Tanh, a, y, 0, 0)), N, 8);
        Row("sigmoid_f32", "[256,256]", Measure(() => Gpu.Unary(UnaryOp.Sigmoid, a, y, 0, 0)), N, 8);
        Row("pow_f32", "[256,256] ^ 1.7", Measure(() => Gpu.Unary(UnaryOp.Pow, a, y, 1.7, 0)), N, 8);
        Row("tanhbackward_f32", "[256,256]", Measure(() => Gpu.Binary(BinaryOp.TanhBackward, a, b, y, 0, 0)), N, 12);
        Row("copy_f32_f64", "[256,256] transposed", Measure(() => Gpu.Copy(a.Transpose(0, 1), y64)), N, 12);
        Row("fill_f32", "[256,256]", Measure(() => Gpu.Fill(y, 1.5)), N, 4);
        using var cond = Random([Rows, Cols], DType.Float32, 5).To(Dev);
        Row("where_f32_f32", "[256,256]", Measure(() => Gpu.Where(cond, a, b, y)), N, 16);
    }

    [Test]
    public void RowKernels()
    {
        TestContext.Out.WriteLine("| kernel | shape | launches | instr/elem | read B/elem | written B/elem | total B/elem |");
        using var x = Random([Rows, Cols], DType.Float32, 1).To(Dev);
        using var g = Random([Rows, Cols], DType.Float32, 2).To(Dev);
        using var r = EmptyGpu([Rows, 1], DType.Float32);
        using var idx = EmptyGpu([Rows, 1], DType.Int64);
        using var y = EmptyGpu([Rows, Cols], DType.Float32);
        using var dx = EmptyGpu([Rows, Cols], DType.Float32);
        // Row reductions read each element once (var twice: two passes) and write one value per row.
        Row("reduce_sum_f32", "[256,256] over dim 1", Measure(() => Gpu.Reduce(ReduceOp.Sum, x, [1], r, null, false)), N, 4 + 4.0 / Cols);
        Row("reduce_mean_f32", "[256,256] over dim 1", Measure(() => Gpu.Reduce(ReduceOp.Mean, x, [1], r, null, false)), N, 4 + 4.0 / Cols);
        Row("reduce_var_f32", "[256,256] over dim 1", Measure(() => Gpu.Reduce(ReduceOp.Var, x, [1], r, null, true)), N, 8 + 4.0 / Cols);
        Row("reduce_max_f32", "[256,256] over dim 1, indices", Measure(() => Gpu.Reduce(ReduceOp.Max, x, [1], r, idx, false)), N, 4 + 12.0 / Cols);
        using var c = EmptyGpu([1, Cols], DType.Float32);
        // Over a leading dim the column kernel reads x in place; over non-consecutive dims x is packed first (copy: 8 B/elem).
        Row("reduce_cols_sum_f32", "[256,256] over dim 0", Measure(() => Gpu.Reduce(ReduceOp.Sum, x, [0], c, null, false)), N, 4 + 4.0 / Rows);
        using var x3d = Random([16, 64, 64], DType.Float32, 7).To(Dev);
        using var c3d = EmptyGpu([1, 64, 1], DType.Float32);
        Row("copy_f32_f32 + reduce_sum_f32", "[16,64,64] over dims 0, 2", Measure(() => Gpu.Reduce(ReduceOp.Sum, x3d, [0, 2], c3d, null, false)), N, 12 + 4.0 / 1024);
        // Rows that fit the shared-memory row cache: every input read once (the floor).
        Row("softmax_f32", "[256,256] dim 1", Measure(() => Gpu.Softmax(x, 1, y, false)), N, 8);
        Row("logsoftmax_f32", "[256,256] dim 1", Measure(() => Gpu.Softmax(x, 1, y, true)), N, 8);
        Row("softmax_bwd_f32", "[256,256] dim 1", Measure(() => Gpu.SoftmaxBackward(g, y, 1, dx, false)), N, 12);
        Row("logsoftmax_bwd_f32", "[256,256] dim 1", Measure(() => Gpu.SoftmaxBackward(g, y, 1, dx, true)), N, 12);
        // Rows too long for the cache (8 warps x 2048 x 4 B > 32 KiB): later passes re-read global memory.
        using var xl = Random([16, 2048], DType.Float32, 8).To(Dev);
        using var yl = EmptyGpu([16, 2048], DType.Float32);
        Row("softmax_f32", "[16,2048] dim 1 (uncached)", Measure(() => Gpu.Softmax(xl, 1, yl, false)), 16 * 2048, 16);
        using var w = Random([1, Cols, Cols], DType.Float32, 6).To(Dev);
        using var x3 = x.Reshape(1, Rows, Cols);
        using var y3 = EmptyGpu([1, Rows, Cols], DType.Float32);
        Row("cublasSgemm_v2", "[256,256] x [256,256]", Measure(() => Gpu.Matmul(x3, w, y3, false, false, false)), N, 12);
    }
}
