using System.Buffers.Binary;
using Digits;
using Framework.IO;
using NUnit.Framework;

namespace Framework.Tests.Samples;

/// <summary>
/// Issue 10 items 6 and 7 on the Digits command line: damaged checkpoints, data the network cannot
/// train on and odd arguments end in one line on stderr and exit code 2, never a stack trace; a huge
/// batch size trains on one batch per epoch instead of printing a NaN loss.
/// </summary>
[TestFixture]
public class DigitsBadInputTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "digits-bad-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = DigitsApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void AssertOneLineError((int Code, string Out, string Err) r, string fragment)
    {
        Assert.That(r.Code, Is.EqualTo(2), r.Err);
        Assert.That(r.Err, Does.StartWith("error: ").And.Contain(fragment));
        Assert.That(r.Err.TrimEnd('\n', '\r').Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(r.Err.Length, Is.LessThan(600), "a short line");
    }

    private static void WriteIdx(string path, int[] dims, int dataBytes)
    {
        var bytes = new byte[4 + 4 * dims.Length + dataBytes];
        bytes[2] = 0x08;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        for (int i = 4 + 4 * dims.Length; i < bytes.Length; i++) bytes[i] = (byte)(i % 10);
        File.WriteAllBytes(path, bytes);
    }

    private string IdxSet(string name, int count, int height, int width)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        foreach (var prefix in new[] { "train", "t10k" })
        {
            WriteIdx(Path.Combine(dir, $"{prefix}-images-idx3-ubyte"), [count, height, width], count * height * width);
            WriteIdx(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), [count], count);
        }
        return dir;
    }

    [TestCase(1, 1)]
    [TestCase(1, 8)]
    [TestCase(8, 1)]
    public void ImagesTooSmallForTheNetwork(int height, int width) =>
        AssertOneLineError(Run("--data", IdxSet("small", 4, height, width), "--out", Path.Combine(_dir, "o")), $"images of {height}x{width} are too small");

    [Test]
    public void AnEmptyDataSetIsAnErrorNotANaNLoss() =>
        AssertOneLineError(Run("--data", IdxSet("empty", 0, 4, 4), "--out", Path.Combine(_dir, "o")), "the training set holds no images");

    [Test]
    public void TwoByTwoImagesTrain()
    {
        var (code, output, err) = Run("--data", IdxSet("tiny", 6, 2, 2), "--epochs", "1", "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("done: held-out accuracy"));
    }

    [Test]
    public void BatchSizeIntMaxValueTrainsOneBatchPerEpoch()
    {
        var (code, output, err) = Run("--batch-size", int.MaxValue.ToString(), "--epochs", "1", "--limit", "40", "--out", Path.Combine(_dir, "o"));
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Not.Contain("NaN").And.Contain("done: held-out accuracy"));
    }

    [TestCase("--out", "")]
    [TestCase("--out", "a\0b")]
    [TestCase("--data", "")]
    [TestCase("--data", "a\0b")]
    [TestCase("--epochs", "99999999999")]
    [TestCase("--batch-size", "-2147483648")]
    [TestCase("--lr", "NaN")]
    [TestCase("--lr", "Infinity")]
    [TestCase("--lr", "-1e-3")]
    [TestCase("--lr", "1e999")]
    [TestCase("--seed", "-1")]
    [TestCase("--seed", "18446744073709551616")]
    [TestCase("--limit", "-5")]
    [TestCase("--device", "")]
    [TestCase("--resume", "maybe")]
    public void HandFuzzedArgumentsGiveOneLine(string option, string value)
    {
        var args = option == "--out" ? new[] { option, value } : new[] { option, value, "--out", Path.Combine(_dir, "o") };
        AssertOneLineError(Run(args), "");
    }

    [Test]
    public void DataThatIsAFileIsOneLine()
    {
        var file = Path.Combine(_dir, "f");
        File.WriteAllText(file, "x");
        AssertOneLineError(Run("--data", file, "--out", Path.Combine(_dir, "o")), "--data");
        AssertOneLineError(Run("--epochs", "1", "--limit", "20", "--out", file), "--out");
    }

    // Checkpoint metadata is text from a file: every damaged form is a one-line error on --resume.
    [TestCase("history", "99999999999,0.5,0.5,0.5,0.5,1,1", "epoch \"99999999999\"")]
    [TestCase("history", "1,x,0.5,0.5,0.5,1,1", "malformed")]
    [TestCase("history", "1,2", "malformed")]
    [TestCase("history", "2,0.5,0.5,0.5,0.5,1,1", "epoch 2")]
    [TestCase("epoch", "99999999999", "says epoch")]
    [TestCase("epoch", "7", "says epoch")]
    [TestCase("seed", "", "--seed")]
    [TestCase("data", "elsewhere", "trained on elsewhere")]
    public void DamagedCheckpointMetadataIsOneLine(string key, string value, string fragment)
    {
        var outDir = Path.Combine(_dir, "run");
        var common = new[] { "--batch-size", "64", "--limit", "64", "--out", outDir };
        var (code, _, err) = Run([.. common, "--epochs", "1"]);
        Assert.That(code, Is.Zero, err);
        var ckpt = Path.Combine(outDir, "checkpoint.safetensors");
        using (var scope = new TensorScope())
        {
            var (tensors, meta) = Safetensors.LoadWithMetadata(ckpt);
            meta[key] = value;
            Safetensors.Save(ckpt, tensors, meta);
        }
        AssertOneLineError(Run([.. common, "--epochs", "2", "--resume"]), fragment);
    }

    [Test]
    public void OverflowingHistoryNumbersAreFormatErrors()
    {
        Assert.That(() => EpochMetrics.FromCsv("2147483648,1,1,1,1,1,1"), Throws.InstanceOf<FormatException>());
        Assert.That(() => EpochMetrics.FromCsv("1,1,1,1,1,1," + new string('9', 400)), Throws.Nothing, "doubles overflow to infinity, which is a number");
        Assert.That(EpochMetrics.FromCsv("3,1,0.5,2,0.25,1.5,100"), Is.EqualTo(new EpochMetrics(3, 1, 0.5, 2, 0.25, 1.5, 100)));
    }
}
