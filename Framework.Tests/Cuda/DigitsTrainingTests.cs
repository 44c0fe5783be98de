using Digits;
using Framework.Data;
using Framework.Nn;
using Framework.Optim;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The check: the emulated GPU trains the Digits sample's network (Conv-BatchNorm-ReLU-Conv-
/// InstanceNorm-ReLU-MaxPool-Linear, float32, Adam lr 0.01) for 5 steps on the same batches from the
/// same seed as the CPU, and every step's loss agrees. Tolerance: 2e-4 relative. The two backends
/// differ only in float32 summation order (cuBLAS vs the CPU GEMM, f64-accumulated vs f32 reductions),
/// a few ulp (~1e-7) per op; Adam's normalised steps carry such differences from step to step without
/// damping them. Measured: steps 1-3 equal, steps 4-5 within 7e-7 relative; the tolerance leaves
/// room for other summation orders (a real GPU's cuBLAS) without hiding a wrong kernel, which moves
/// the loss by far more. Losses, not parameters, are compared on purpose: the conv biases feed a
/// norm, so their true gradient is 0 and both backends compute rounding noise (~1e-9) for it, which
/// Adam turns into full-size steps of arbitrary sign; those biases (and BatchNorm's running mean that
/// follows them) differ between any two summation orders, while the training losses do not see them.
/// </summary>
public class DigitsTrainingTests
{
    private const int Steps = 5, Batch = 32;

    private static double[] Train(Device device, TensorDataset data)
    {
        using var scope = new TensorScope();
        using var model = DigitsNet.Build(8, 8, 10, new Generator(7), device);
        using var opt = new Adam(model.Parameters(), 0.01);
        var losses = new List<double>();
        foreach (var batch in new DataLoader(data, Batch, shuffle: true, generator: new Generator(11), device: device).Take(Steps))
        {
            using var step = new TensorScope();
            var loss = F.CrossEntropy(model.Forward(batch[0]), batch[1]);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            losses.Add(loss.Item());
        }
        return losses.ToArray();
    }

    [Test]
    public void EmulatedGpuTrainsTheSampleNetworkWithTheCpusLosses()
    {
        var digits = DigitsCsv.Load(Path.Combine(AppContext.BaseDirectory, "digits.csv.gz"));
        var data = digits.ToDataset(Enumerable.Range(0, Steps * Batch).ToArray());
        var cpu = Train(Device.Cpu, data);
        var gpu = Train(Device.CudaEmulated(0), data);
        TestContext.Out.WriteLine("step | cpu loss | emulated loss | relative difference");
        for (int i = 0; i < Steps; i++)
            TestContext.Out.WriteLine($"{i + 1} | {cpu[i]:G9} | {gpu[i]:G9} | {Math.Abs(gpu[i] - cpu[i]) / Math.Abs(cpu[i]):E2}");
        Assert.That(gpu, Has.Length.EqualTo(Steps));
        for (int i = 0; i < Steps; i++)
            Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(2e-4 * Math.Abs(cpu[i])), $"loss of step {i + 1}");
        Assert.That(cpu[^1], Is.LessThan(cpu[0]), "the network learns");
    }

    [Test]
    public void SampleRunsOnTheEmulatedDevice()
    {
        var dir = Path.Combine(Path.GetTempPath(), "digits-emulated-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code = DigitsApp.Run(["--device", "emulated", "--epochs", "1", "--batch-size", "32", "--limit", "64", "--out", dir], output, error);
            Assert.That(code, Is.Zero, error.ToString());
            Assert.That(output.ToString(), Does.Contain("parameters on cuda-emulated:0").And.Contain("done: held-out accuracy"));
            Assert.That(File.Exists(Path.Combine(dir, "checkpoint.safetensors")), Is.True);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
