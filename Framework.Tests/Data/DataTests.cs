using System.Buffers.Binary;
using System.IO.Compression;
using Framework.Data;
using NUnit.Framework;

namespace Framework.Tests.Data;

/// <summary>Datasets, the batching loader, and the digits CSV and IDX readers on small files made here.</summary>
[TestFixture]
public class DataTests : TempDirectoryTestBase
{
    private static TensorDataset Numbers(int n) =>
        new(Tensor.Arange(0, n, 1, DType.Float32).Reshape(n, 1).Expand(n, 3).Contiguous(), Tensor.Arange(0, n, 1, DType.Int64));

    private static List<long> Epoch(DataLoader loader, List<int>? sizes = null)
    {
        var seen = new List<long>();
        foreach (var batch in loader)
        {
            Assert.That(batch[0].Size(0), Is.EqualTo(batch[1].Size(0)));
            var x = batch[0].ToArray<float>();
            var y = batch[1].ToArray<long>();
            for (int r = 0; r < y.Length; r++) Assert.That(x[r * 3 + 2], Is.EqualTo((float)y[r]), "rows stay together");
            seen.AddRange(y);
            sizes?.Add(y.Length);
        }
        return seen;
    }

    [Test]
    public void BatchesCoverTheDatasetInOrderWithoutShuffle()
    {
        var sizes = new List<int>();
        var loader = new DataLoader(Numbers(10), 4);
        Assert.That(loader.Count, Is.EqualTo(3));
        Assert.That(Epoch(loader, sizes), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (long)i)));
        Assert.That(sizes, Is.EqualTo(new[] { 4, 4, 2 }));
        sizes.Clear();
        var drop = new DataLoader(Numbers(10), 4, dropLast: true);
        Assert.That(drop.Count, Is.EqualTo(2));
        Assert.That(Epoch(drop, sizes), Has.Count.EqualTo(8));
        Assert.That(sizes, Is.EqualTo(new[] { 4, 4 }));
    }

    [Test]
    public void ShuffleIsASeededPermutationThatChangesEachEpoch()
    {
        var a = new DataLoader(Numbers(50), 8, shuffle: true, generator: new Generator(42));
        var b = new DataLoader(Numbers(50), 8, shuffle: true, generator: new Generator(42));
        var a1 = Epoch(a);
        var a2 = Epoch(a);
        Assert.That(a1.Order(), Is.EqualTo(Enumerable.Range(0, 50).Select(i => (long)i)), "each sample once");
        Assert.That(a2, Is.Not.EqualTo(a1), "a new order each epoch");
        Assert.That(Epoch(b), Is.EqualTo(a1), "same seed, same order");
        Assert.That(() => new DataLoader(Numbers(5), 2, shuffle: true), Throws.ArgumentException.With.Message.Contains("Generator"));
        Assert.That(() => new DataLoader(Numbers(5), 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void TheLoaderOwnsItsBatches()
    {
        Tensor? first = null;
        var data = Numbers(6);
        int before = TensorScope.Current!.Count;
        foreach (var batch in new DataLoader(data, 2))
        {
            first ??= batch[0];
            Assert.That(first.IsDisposed, Is.EqualTo(!ReferenceEquals(first, batch[0])));
        }
        Assert.That(first!.IsDisposed, Is.True);
        Assert.That(TensorScope.Current!.Count, Is.EqualTo(before), "batches are not left in the caller's scope");
    }

    [Test]
    public void TensorDatasetChecksItsTensors()
    {
        Assert.That(() => new TensorDataset(Tensor.Zeros(3, 2), Tensor.Zeros(4)), Throws.ArgumentException.With.Message.Contains("same number of samples"));
        Assert.That(() => Numbers(3).Gather([3]), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    // ---- digits CSV ----

    private string Write(string name, string text, bool gzip)
    {
        var path = Path.Combine(Dir, name);
        using var fs = File.Create(path);
        using Stream s = gzip ? new GZipStream(fs, CompressionLevel.Fastest) : fs;
        using var w = new StreamWriter(s);
        w.Write(text);
        return path;
    }

    private static string Row(int seed, int label) => string.Join(",", Enumerable.Range(0, 64).Select(k => (k * seed) % 17)) + "," + label;

    [TestCase(false)]
    [TestCase(true)]
    public void DigitsCsvReadsPlainAndGzip(bool gzip)
    {
        var path = Write("d.csv" + (gzip ? ".gz" : ""), Row(3, 7) + "\n" + Row(5, 0) + "\n\n", gzip);
        var d = DigitsCsv.Load(path);
        Assert.That(d.Count, Is.EqualTo(2));
        Assert.That(d.Labels, Is.EqualTo(new long[] { 7, 0 }));
        Assert.That(d.Pixels[64 + 4], Is.EqualTo(20 % 17));
        var ds = d.ToDataset();
        Assert.That(ds.Tensors[0].Shape, Is.EqualTo(new[] { 2, 1, 8, 8 }));
        Assert.That(ds.Tensors[0].ToArray<float>().Max(), Is.LessThanOrEqualTo(1f));
        Assert.That(ds.Tensors[0].ToArray<float>()[64 + 4], Is.EqualTo(3f / 16));
    }

    [TestCase("1,2,3\n", "line 1: expected 65 comma-separated values")]
    [TestCase("ROW\nROW,1\n", "line 2: expected 65")]
    [TestCase("ROWx\n", "is not an integer")]
    [TestCase("17,ROWTAIL\n", "outside 0..16")]
    [TestCase("\n\n", "holds no images")]
    public void DigitsCsvErrorsNameTheLine(string text, string fragment)
    {
        string row = Row(1, 4);
        text = text.Replace("ROWTAIL", string.Join(",", row.Split(',').Skip(1))).Replace("ROW", row);
        var path = Write("bad.csv", text, gzip: false);
        Assert.That(() => DigitsCsv.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(fragment));
    }

    [Test]
    public void CorruptedGzipIsAClearError()
    {
        var path = Write("c.csv.gz", Row(3, 1) + "\n", gzip: true);
        var bytes = File.ReadAllBytes(path);
        for (int i = 10; i < bytes.Length - 8; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        Assert.That(() => DigitsCsv.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(path));
    }

    // ---- IDX ----

    private string Idx(string name, byte type, int[] dims, byte[] data, bool gzip = false, int extra = 0)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (int d in dims)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, d);
            bytes.AddRange(b);
        }
        bytes.AddRange(data);
        bytes.AddRange(new byte[extra]);
        var path = Path.Combine(Dir, name);
        if (!gzip) File.WriteAllBytes(path, bytes.ToArray());
        else
        {
            using var fs = File.Create(path);
            using var gz = new GZipStream(fs, CompressionLevel.Fastest);
            gz.Write(bytes.ToArray());
        }
        return path;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void IdxImagesAndLabelsLoad(bool gzip)
    {
        var px = Enumerable.Range(0, 3 * 2 * 4).Select(i => (byte)(i * 10)).ToArray();
        var suffix = gzip ? ".gz" : "";
        Idx("train-images-idx3-ubyte" + suffix, 0x08, [3, 2, 4], px, gzip);
        Idx("train-labels-idx1-ubyte" + suffix, 0x08, [3], [9, 0, 4], gzip);
        var d = Framework.Data.Idx.LoadDirectory(Dir);
        Assert.That((d.Count, d.Height, d.Width, d.MaxValue), Is.EqualTo((3, 2, 4, 255f)));
        Assert.That(d.Labels, Is.EqualTo(new long[] { 9, 0, 4 }));
        Assert.That(d.Pixels[9], Is.EqualTo(90f));
        Assert.That(() => Framework.Data.Idx.LoadDirectory(Dir, train: false), Throws.InstanceOf<FileNotFoundException>().With.Message.Contains("t10k-images-idx3-ubyte"));
    }

    [Test]
    public void MalformedIdxFilesAreClearErrors()
    {
        void Bad(string path, string fragment) =>
            Assert.That(() => Framework.Data.Idx.Read(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(fragment));
        File.WriteAllBytes(Path.Combine(Dir, "short"), [0, 0]);
        Bad(Path.Combine(Dir, "short"), "shorter than the 4-byte magic");
        File.WriteAllBytes(Path.Combine(Dir, "png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        Bad(Path.Combine(Dir, "png"), "not an IDX file");
        Bad(Idx("f", 0x0D, [2], new byte[8]), "0x0D (float32) is not supported");
        Bad(Idx("t", 0x08, [4, 5], new byte[19]), "need 20 data bytes, but only 19 follow");
        Bad(Idx("x", 0x08, [4], new byte[4], extra: 3), "bytes after the 4 data bytes");
        Bad(Idx("tg", 0x08, [100], new byte[50], gzip: true), "truncated");
        var images = Idx("i", 0x08, [2, 2, 2], new byte[8]);
        var labels = Idx("l", 0x08, [3], new byte[3]);
        Assert.That(() => Framework.Data.Idx.LoadImages(images, labels), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("2 images").And.Message.Contains("3 labels"));
        Assert.That(() => Framework.Data.Idx.LoadImages(labels, labels), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("expected 3"));
    }

    [Test]
    public void SplitIsSeededAndDisjoint()
    {
        var d = new LabeledImages(new float[100 * 4], Enumerable.Range(0, 100).Select(i => (long)(i % 10)).ToArray(), 2, 2, 1);
        var (train, test) = d.Split(0.2, new Generator(1));
        Assert.That(test, Has.Length.EqualTo(20));
        Assert.That(train.Concat(test).Order(), Is.EqualTo(Enumerable.Range(0, 100)));
        Assert.That(d.Split(0.2, new Generator(1)).Test, Is.EqualTo(test));
        Assert.That(d.Classes, Is.EqualTo(10));
    }
}
