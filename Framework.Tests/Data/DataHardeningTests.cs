using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Framework.Data;
using NUnit.Framework;

namespace Framework.Tests.Data;

/// <summary>
/// Issue 10 items 7 (and the IDX part of fuzzing): the loader's batch count does not overflow, and a
/// gzip input cut anywhere is an error instead of a silently loaded prefix.
/// </summary>
[TestFixture]
public class DataHardeningTests : TempDirectoryTestBase
{
    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize)) gz.Write(data);
        return ms.ToArray();
    }

    private static string Row(int seed, int label) => string.Join(",", Enumerable.Range(0, 64).Select(k => (k * 7 + seed) % 17)) + "," + label;

    [Test]
    public void BatchSizeIntMaxValueGivesOneBatchOfEverything()
    {
        var ds = new TensorDataset(Tensor.Arange(0, 5, 1, DType.Float32), Tensor.Arange(0, 5, 1, DType.Int64));
        foreach (bool dropLast in new[] { false, true })
        {
            var loader = new DataLoader(ds, int.MaxValue, dropLast: dropLast);
            var sizes = loader.Select(b => b[1].Size(0)).ToList();
            Assert.That(loader.Count, Is.EqualTo(dropLast ? 0 : 1), $"dropLast {dropLast}");
            Assert.That(sizes, Is.EqualTo(dropLast ? Array.Empty<int>() : new[] { 5 }), $"dropLast {dropLast}");
        }
        Assert.That(new DataLoader(ds, int.MaxValue - 1).Count, Is.EqualTo(1));
    }

    [Test]
    public void EveryCutOfAGzipCsvIsAnError()
    {
        var text = string.Join("\n", Enumerable.Range(0, 6).Select(i => Row(i, i % 10))) + "\n";
        var gz = Gzip(Encoding.ASCII.GetBytes(text));
        var path = Path.Combine(Dir, "d.csv.gz");
        File.WriteAllBytes(path, gz);
        Assert.That(DigitsCsv.Load(path).Count, Is.EqualTo(6), "the whole file loads");
        var silent = new List<int>();
        for (int cut = 2; cut < gz.Length; cut++)
        {
            File.WriteAllBytes(path, gz[..cut]);
            try
            {
                DigitsCsv.Load(path);
                silent.Add(cut);
            }
            catch (InvalidDataException e)
            {
                Assert.That(e.Message, Does.StartWith("digits CSV"), $"cut at {cut}");
            }
        }
        Assert.That(silent, Is.Empty, $"cut points of {gz.Length} that loaded without an error");
    }

    [Test]
    public void EveryCutOfAGzipIdxIsAnError()
    {
        byte[] raw = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 7, .. Enumerable.Range(0, 105).Select(i => (byte)(i * 37))];
        var gz = Gzip(raw);
        var path = Path.Combine(Dir, "i.gz");
        File.WriteAllBytes(path, gz);
        Assert.That(Framework.Data.Idx.Read(path).Dims, Is.EqualTo(new[] { 3, 5, 7 }));
        for (int cut = 2; cut < gz.Length; cut++)
        {
            File.WriteAllBytes(path, gz[..cut]);
            Assert.That(() => Framework.Data.Idx.Read(path), Throws.InstanceOf<InvalidDataException>().With.Message.StartWith("IDX file"), $"cut at {cut} of {gz.Length}");
        }
    }

    [Test]
    public void AGzipTrailerThatDisagreesIsAnError()
    {
        var gz = Gzip(Encoding.ASCII.GetBytes(Row(1, 2) + "\n"));
        var path = Path.Combine(Dir, "t.csv.gz");
        foreach (int at in new[] { 1, 4, 5, 8 }) // ISIZE's high and low bytes, CRC-32's high and low bytes
        {
            var bad = (byte[])gz.Clone();
            bad[^at] ^= 0x10;
            File.WriteAllBytes(path, bad);
            Assert.That(() => DigitsCsv.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.StartWith("digits CSV"), $"byte {at} from the end");
        }
    }

    [Test]
    public void IdxClaimingGigabytesInATinyFileFailsWithoutAllocatingThem()
    {
        var bytes = new byte[4 + 12 + 8];
        bytes[2] = 8;
        bytes[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), 2);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 32768);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 32767);
        var path = Path.Combine(Dir, "big");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(() => Framework.Data.Idx.Read(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("truncated"));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(16L << 20), "bytes allocated for a 24-byte file that claims 2 GB");
    }
}
