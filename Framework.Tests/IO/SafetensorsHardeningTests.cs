using System.Diagnostics;
using System.Text;
using Framework.IO;
using NUnit.Framework;

namespace Framework.Tests.IO;

/// <summary>
/// Issue 10 item 8: repeated fields are errors, not "last wins"; huge headers are parsed in linear time
/// and memory, and the error quotes at most ~100 characters of them.
/// </summary>
[TestFixture]
public class SafetensorsHardeningTests : TempDirectoryTestBase
{
    private string WriteRaw(string name, string json, int dataBytes = 0)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var path = Path.Combine(Dir, name);
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((ulong)header.Length));
        fs.Write(header);
        fs.Write(new byte[dataBytes]);
        return path;
    }

    private static void Bad(string path, string fragment) =>
        Assert.That(() => Safetensors.Load(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(fragment));

    [TestCase("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", "field \"dtype\" appears twice")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[1],\"data_offsets\":[0,4]}}", "field \"shape\" appears twice")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"data_offsets\":[0,4]}}", "field \"data_offsets\" appears twice")]
    [TestCase("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "metadata \"k\" appears twice")]
    public void RepeatedFieldsAreRejected(string json, string fragment) => Bad(WriteRaw("dup.safetensors", json, 4), fragment);

    [Test]
    public void ShapesOfMoreThan64DimensionsAreRejected()
    {
        string shape = string.Join(",", Enumerable.Repeat("0", 65));
        Bad(WriteRaw("rank.safetensors", $"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[{shape}],\"data_offsets\":[0,0]}}}}"), "more than the 64 dimensions");
        string ok = string.Join(",", Enumerable.Repeat("1", 64));
        Assert.That(Safetensors.Load(WriteRaw("rank64.safetensors", $"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[{ok}],\"data_offsets\":[0,4]}}}}", 4))["a"].Dim, Is.EqualTo(64));
    }

    [Test]
    public void EmptyShapesWhoseOtherSizesOverflowAreRejected() =>
        Bad(WriteRaw("o.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,2147483647,2147483647,2147483647],\"data_offsets\":[0,0]}}"), "too large");

    [Test]
    public void HeaderOver100MBIsRejectedBeforeReadingIt()
    {
        var path = Path.Combine(Dir, "huge.safetensors");
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)Safetensors.MaxHeaderBytes + 1));
        Bad(path, "exceeds the 100000000-byte limit");
    }

    // The three shapes of a 90 MB header the issue measured (6.7 s, 1.9 GB allocated, a 12 MB message):
    // one huge tensor name, one huge number, one huge shape. Each must fail fast, in memory linear in
    // the header, with a short message.
    [TestCase("name")]
    [TestCase("number")]
    [TestCase("shape")]
    public void A90MBHeaderFailsFastWithAShortMessage(string kind)
    {
        const int Size = 90_000_000;
        var sb = new StringBuilder(Size + 200);
        switch (kind)
        {
            case "name":
                sb.Append("{\"").Append('n', Size).Append("\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}");
                break;
            case "number":
                sb.Append("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,").Append('9', Size).Append("]}}");
                break;
            default:
                sb.Append("{\"a\":{\"dtype\":\"F32\",\"shape\":[1");
                for (int i = 0; i < Size / 2; i++) sb.Append(",1");
                sb.Append("],\"data_offsets\":[0,4]}}");
                break;
        }
        var path = WriteRaw("big.safetensors", sb.ToString());
        sb.Clear();
        sb.Capacity = 0;
        GC.Collect();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path))!;
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Out.WriteLine($"{kind}: {clock.Elapsed.TotalSeconds:F2} s, {allocated / 1e6:F0} MB allocated, message {e.Message.Length} characters: {e.Message}");
        Assert.That(e.Message.Length, Is.LessThan(500 + path.Length), "message length");
        // The header itself is 90 MB and a 90 MB name becomes a 180 MB UTF-16 string: linear, not gigabytes.
        Assert.That(allocated, Is.LessThan(400_000_000), "bytes allocated");
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(20), "seconds (6.7 s before on a quiet machine; this one is shared)");
    }
}
