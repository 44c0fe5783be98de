using System.Text;
using System.Text.Json;
using Framework.IO;
using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests.IO;

/// <summary>Safetensors round trips, the PyTorch-written fixture, and malformed files rejected before anything is created or written.</summary>
[TestFixture]
public class SafetensorsTests : TempDirectoryTestBase
{
    internal sealed class TwoNorms : Module
    {
        public TwoNorms()
        {
            Bn = RegisterModule(new BatchNorm2d(3), "bn");
            Inorm = RegisterModule(new InstanceNorm2d(4, affine: true, trackRunningStats: true), "inorm");
        }

        public BatchNorm2d Bn { get; }
        public InstanceNorm2d Inorm { get; }
    }

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    private static double[] D(Tensor t) => t.To(DType.Float64).ToArray<double>();

    [Test]
    public void RoundTripKeepsDTypesShapesValuesAndMetadata()
    {
        var g = new Generator(1);
        var m = Tensor.Randn([3, 4], g);
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.f32"] = Tensor.Randn([2, 3], g),
            ["b.f64"] = Tensor.Randn([5], g, DType.Float64),
            ["c.i64"] = Tensor.Scalar(-42, DType.Int64),
            ["d.empty"] = Tensor.Zeros([0, 4]),
            ["e.view"] = m.Transpose(0, 1), // non-contiguous: saved as its logical values
            ["f.ids"] = Tensor.FromArray(new long[] { 1, long.MaxValue, -3 }),
        };
        var path = Path.Combine(Dir, "x.safetensors");
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "ünïcode" });
        var (loaded, meta) = Safetensors.LoadWithMetadata(path);
        Assert.That(loaded.Keys.Order(), Is.EqualTo(tensors.Keys.Order()));
        foreach (var (k, t) in tensors)
        {
            Assert.That(loaded[k].DType, Is.EqualTo(t.DType), k);
            Assert.That(loaded[k].Shape, Is.EqualTo(t.Shape), k);
            if (t.DType == DType.Int64) Assert.That(loaded[k].ToArray<long>(), Is.EqualTo(t.Contiguous().ToArray<long>()), k);
            else Assert.That(D(loaded[k]), Is.EqualTo(D(t)), k);
        }
        Assert.That(meta, Is.EqualTo(new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "ünïcode" }));
        long headerLength = BitConverter.ToInt64(File.ReadAllBytes(path), 0);
        Assert.That(headerLength % 8, Is.Zero, "data starts 8-byte aligned");
        Assert.That(Directory.GetFiles(Dir), Has.Length.EqualTo(1), "no temporary file is left behind");
    }

    [Test]
    public void PyTorchWrittenFileLoadsWithItsValues()
    {
        var loaded = Safetensors.Load(Golden("torch_norms.safetensors"));
        using var doc = JsonDocument.Parse(File.ReadAllText(Golden("torch_norms.json")));
        Assert.That(loaded.Keys.Order(), Is.EqualTo(doc.RootElement.EnumerateObject().Select(p => p.Name).Order()));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var t = loaded[p.Name];
            Assert.That(t.Shape, Is.EqualTo(p.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray()), p.Name);
            Assert.That(t.DType.Name(), Is.EqualTo(p.Value.GetProperty("dtype").GetString()!.Replace("torch.", "")), p.Name);
            var expected = p.Value.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.That(D(t), Is.EqualTo(expected).Within(1e-7), p.Name);
        }
    }

    [Test]
    public void PyTorchWeightsLoadIntoAModuleAndSaveBackByteIdentical()
    {
        using var net = new TwoNorms();
        var result = net.LoadSafetensors(Golden("torch_norms.safetensors"), strict: false);
        Assert.That(result.UnexpectedKeys, Is.EqualTo(new[] { "extra.f64" }));
        Assert.That(result.MissingKeys, Is.Empty);
        using var doc = JsonDocument.Parse(File.ReadAllText(Golden("torch_norms.json")));
        var rv = doc.RootElement.GetProperty("bn.running_var").GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.That(D(net.StateDict()["bn.running_var"]), Is.EqualTo(rv).Within(1e-7));
        Assert.That(net.StateDict()["bn.num_batches_tracked"].Item<long>(), Is.EqualTo(3));

        // Our writer lays a file out exactly as safetensors.torch.save_file does: same bytes.
        var path = Path.Combine(Dir, "back.safetensors");
        var (all, meta) = Safetensors.LoadWithMetadata(Golden("torch_norms.safetensors"));
        Safetensors.Save(path, all, meta);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(File.ReadAllBytes(Golden("torch_norms.safetensors"))));
    }

    [Test]
    public void SavingReplacesAnExistingFileAndAFailedSaveLeavesItIntact()
    {
        var path = Path.Combine(Dir, "w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.Ones(2) });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["y"] = Tensor.Ones(3) });
        Assert.That(Safetensors.Load(path).Keys, Is.EqualTo(new[] { "y" }));
        var gone = Tensor.Ones(4);
        gone.Dispose();
        Assert.That(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["z"] = gone }), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }), Throws.ArgumentException);
        Assert.That(Safetensors.Load(path).Keys, Is.EqualTo(new[] { "y" }));
        Assert.That(Directory.GetFiles(Dir), Has.Length.EqualTo(1));
    }

    // ---- malformed files ----

    private string Raw(string header, byte[] data, ulong? lengthOverride = null, string name = "bad.safetensors")
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BitConverter.GetBytes(lengthOverride ?? (ulong)h.Length).CopyTo(bytes, 0);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        var path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void Rejected(string path, string fragment)
    {
        int before = TensorScope.Current!.Count;
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path))!;
        Assert.That(e.Message, Does.Contain(fragment));
        Assert.That(TensorScope.Current!.Count, Is.EqualTo(before), "no tensor was created");
    }

    private static string One(string dtype, string shape, long begin, long end) =>
        $"{{\"t\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}}}";

    [Test]
    public void TruncatedFilesAreRejected()
    {
        var good = Path.Combine(Dir, "good.safetensors");
        Safetensors.Save(good, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(10), ["b"] = Tensor.Ones(3) });
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(good, bytes[..^5]);
        Rejected(good, "truncated");
        File.WriteAllBytes(good, bytes[..20]);
        Rejected(good, "runs past the end of the file");
        File.WriteAllBytes(good, bytes[..5]);
        Rejected(good, "shorter than the 8-byte header length");
    }

    [Test]
    public void OversizedHeaderIsRejected() => Rejected(Raw("{}", [], lengthOverride: 1UL << 40), "exceeds the 100000000-byte limit");

    [Test]
    public void CorruptedHeadersAreRejected()
    {
        Rejected(Raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]", new byte[4]), "not valid UTF-8 JSON");
        Rejected(Raw("[1,2,3]   ", []), "not '{'");
        Rejected(Raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "twice");
        Rejected(Raw(One("F32", "[-1]", 0, 4), new byte[4]), "shape entries");
        Rejected(Raw(One("F32", "[2,3]", 0, 20), new byte[20]), "needs 24 bytes");
        Rejected(Raw(One("F64", "[2147483647,2147483647,2147483647]", 0, 8), new byte[8]), "too large");
        Rejected(Raw(One("F32", "[1]", 4, 0), new byte[4]), "0 <= begin <= end");
        Rejected(Raw("{\"__metadata__\":{\"a\":1}}", []), "must be a string");
        var bytes = Encoding.UTF8.GetBytes(One("F32", "[1]", 0, 4));
        bytes[3] = 0xFF; // invalid UTF-8 inside the name
        Rejected(Raw(Encoding.Latin1.GetString(bytes), new byte[4]), "not valid UTF-8 JSON");
    }

    [Test]
    public void WrongDTypesAreRejected()
    {
        Rejected(Raw(One("F16", "[2]", 0, 4), new byte[4]), "dtype F16, which this framework does not support");
        Rejected(Raw(One("Q7", "[2]", 0, 4), new byte[4]), "unknown dtype \"Q7\"");
    }

    [Test]
    public void OverlapsGapsAndTrailingBytesAreRejected()
    {
        string two(long b1, long e1, long b2, long e2) =>
            $"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[{b1},{e1}]}},\"b\":{{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[{b2},{e2}]}}}}";
        Rejected(Raw(two(0, 16, 8, 24), new byte[24]), "overlap");
        Rejected(Raw(two(0, 16, 20, 36), new byte[36]), "unaccounted bytes");
        Rejected(Raw(two(0, 16, 16, 32), new byte[40]), "8 bytes after the last tensor");
        Rejected(Raw(two(4, 20, 20, 36), new byte[36]), "unaccounted bytes at data offset 0");
    }

    [Test]
    public void BadFilesNeverPartiallyLoadAModule()
    {
        using var net = new TwoNorms();
        var before = net.StateDict().ToDictionary(e => e.Key, e => D(e.Value));
        // A well-formed file whose last key (in load order) has the wrong shape.
        var donor = new TwoNorms();
        var sd = donor.StateDict();
        using (Tensor.NoGrad()) sd["bn.weight"].FillInPlace(7);
        sd["inorm.running_var"] = Tensor.Ones(5);
        var wrongShape = Path.Combine(Dir, "shape.safetensors");
        Safetensors.Save(wrongShape, sd);
        Assert.That(() => net.LoadSafetensors(wrongShape), Throws.ArgumentException.With.Message.Contains("inorm.running_var").And.Message.Contains("nothing was loaded"));
        // The same file truncated.
        var truncated = Path.Combine(Dir, "cut.safetensors");
        File.WriteAllBytes(truncated, File.ReadAllBytes(wrongShape)[..^3]);
        Assert.That(() => net.LoadSafetensors(truncated), Throws.InstanceOf<InvalidDataException>());
        foreach (var (k, v) in net.StateDict()) Assert.That(D(v), Is.EqualTo(before[k]), k);
        donor.Dispose();
    }
}
