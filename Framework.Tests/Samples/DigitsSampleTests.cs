using System.Xml.Linq;
using Digits;
using Framework.Data;
using Framework.IO;
using NUnit.Framework;

namespace Framework.Tests.Samples;

/// <summary>The Digits sample end to end, in process: a short run, a resume, and the one-line errors with exit code 2.</summary>
[TestFixture]
public class DigitsSampleTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "digits-sample-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = DigitsApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void ShortRunWritesCheckpointPlotAndMetricsAndResumes()
    {
        var outDir = Path.Combine(_dir, "out");
        var (code, output, err) = Run("--epochs", "1", "--batch-size", "64", "--limit", "256", "--out", outDir, "--seed", "3");
        Assert.That(code, Is.Zero, err);
        Assert.That(err, Is.Empty);
        Assert.That(output, Does.Contain("epoch 1/1").And.Contain("held-out").And.Contain("done: held-out accuracy"));

        var ckpt = Path.Combine(outDir, "checkpoint.safetensors");
        using (var scope = new TensorScope())
        {
            var (tensors, meta) = Safetensors.LoadWithMetadata(ckpt);
            Assert.That(meta["epoch"], Is.EqualTo("1"));
            Assert.That(tensors.Keys, Does.Contain("1.running_var").And.Contain("4.weight").And.Contain("8.weight"));
            Assert.That(tensors.Keys, Does.Contain("optimizer.state.0.exp_avg").And.Contain("scheduler.last_epoch"));
        }
        var svg = XDocument.Load(Path.Combine(outDir, "metrics.svg"));
        Assert.That(svg.Root!.Name.LocalName, Is.EqualTo("svg"));
        Assert.That(svg.Descendants().Count(x => x.Name.LocalName == "polyline"), Is.EqualTo(4));
        Assert.That(File.ReadAllLines(Path.Combine(outDir, "metrics.csv")), Has.Length.EqualTo(2));
        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(outDir, "digits.onnx")))
            Assert.That(session.OutputMetadata["output"].Dimensions, Is.EqualTo(new[] { -1, 10 }), "digits.onnx: a symbolic batch and 10 logits");

        (code, output, err) = Run("--epochs", "2", "--batch-size", "64", "--limit", "256", "--out", outDir, "--seed", "3", "--resume");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("resumed after epoch 1").And.Contain("epoch 2/2").And.Not.Contain("epoch 1/2"));
        Assert.That(File.ReadAllLines(Path.Combine(outDir, "metrics.csv")), Has.Length.EqualTo(3));
        Assert.That(Directory.GetFiles(outDir).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "checkpoint.safetensors", "digits.onnx", "metrics.csv", "metrics.svg" }));
    }

    [TestCase("--epochs", "0", "--epochs must be positive")]
    [TestCase("--batch-size", "-3", "--batch-size must be positive")]
    [TestCase("--lr", "abc", "--lr")]
    [TestCase("--device", "tpu", "tpu")]
    [TestCase("--frobnicate", "1", "--frobnicate")]
    public void BadArgumentsGiveOneLineAndExitCode2(string option, string value, string fragment)
    {
        var (code, output, err) = Run(option, value, "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.StartWith("error: ").And.Contain(fragment));
        Assert.That(err.TrimEnd('\n', '\r').Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void CudaWithoutAGpuGivesTheDriversReasonInOneLine()
    {
        if (Framework.Cuda.NativeCudaDriver.Probe(0) is null) Assert.Ignore("a usable CUDA GPU is present: --device cuda would train");
        var (code, output, err) = Run("--device", "cuda", "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.StartWith("error: --device cuda: no usable CUDA GPU: "));
        Assert.That(err.TrimEnd('\n', '\r').Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void UnreadableDataAndMissingCheckpointsGiveExitCode2()
    {
        var data = Path.Combine(_dir, "idx");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0]);
        File.WriteAllBytes(Path.Combine(data, "train-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 0]);
        var (code, _, err) = Run("--data", data, "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.StartWith("error: cannot read the data").And.Contain("truncated"));
        (code, _, err) = Run("--data", Path.Combine(_dir, "missing"), "--out", Path.Combine(_dir, "o"));
        Assert.That((code, err.Contains("does not exist")), Is.EqualTo((2, true)));
        (code, _, err) = Run("--resume", "--out", Path.Combine(_dir, "none"));
        Assert.That((code, err.Contains("no checkpoint")), Is.EqualTo((2, true)));
        var corrupt = Path.Combine(_dir, "corrupt");
        Directory.CreateDirectory(corrupt);
        File.WriteAllBytes(Path.Combine(corrupt, "checkpoint.safetensors"), [1, 2, 3]);
        (code, _, err) = Run("--resume", "--out", corrupt);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("cannot load").And.Contain("shorter than the 8-byte header length"));
    }

    [Test]
    public void BundledDigitsAreTheUciSet()
    {
        var d = DigitsCsv.Load(Path.Combine(AppContext.BaseDirectory, "digits.csv.gz"));
        Assert.That((d.Count, d.Height, d.Width, d.Classes), Is.EqualTo((1797, 8, 8, 10)));
        Assert.That(d.Pixels.Max(), Is.EqualTo(16f));
    }
}
