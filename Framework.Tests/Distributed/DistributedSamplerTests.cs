using Framework.Data;
using Framework.Distributed;
using NUnit.Framework;

namespace Framework.Tests.Distributed;

/// <summary>DistributedSampler's shards (no MPI needed: explicit ranks) and its use by DataLoader.</summary>
public class DistributedSamplerTests
{
    [TestCase(10, 3, false)]
    [TestCase(10, 3, true)]
    [TestCase(12, 4, false)]
    [TestCase(2, 3, false)]
    public void ShardsAreDisjointAndCoverTheDataset(int n, int world, bool dropLast)
    {
        var shards = Enumerable.Range(0, world).Select(r => new DistributedSampler(r, world, shuffle: true, seed: 5, dropLast: dropLast).Indices(n)).ToList();
        int per = dropLast ? n / world : (n + world - 1) / world;
        Assert.That(shards.Select(s => s.Length), Is.All.EqualTo(per), "every rank gets the same number of samples");
        var all = shards.SelectMany(s => s).ToList();
        Assert.That(all, Is.All.InRange(0, n - 1));
        if (dropLast)
            Assert.That(all.Distinct().Count(), Is.EqualTo(all.Count), "dropLast: no sample twice");
        else
        {
            Assert.That(all.Distinct().Count(), Is.EqualTo(n), "padding: every sample is seen");
            Assert.That(all.Count - n, Is.LessThan(world), "padding adds fewer than world size repeats");
        }
        if (n >= world)
            for (int a = 0; a < world; a++)
                for (int b = a + 1; b < world; b++)
                    if (per * world <= n) Assert.That(shards[a].Intersect(shards[b]), Is.Empty, $"ranks {a} and {b} overlap");
    }

    [Test]
    public void EachEpochHasItsOwnSeededOrder()
    {
        var s = new DistributedSampler(0, 2, shuffle: true, seed: 1);
        var e0 = s.Indices(100);
        Assert.That(s.Indices(100), Is.EqualTo(e0), "the same epoch gives the same order");
        s.SetEpoch(1);
        Assert.That(s.Indices(100), Is.Not.EqualTo(e0), "a new epoch gives a new order");
        var other = new DistributedSampler(0, 2, shuffle: true, seed: 1);
        other.SetEpoch(1);
        Assert.That(other.Indices(100), Is.EqualTo(s.Indices(100)), "same seed and epoch, same order on any process");
        Assert.That(new DistributedSampler(1, 2, shuffle: false).Indices(5), Is.EqualTo(new[] { 1, 3, 0 }), "unshuffled: strided, padded from the start");
    }

    [Test]
    public void DataLoaderVisitsTheShard()
    {
        using var data = Tensor.Arange(0, 10, 1, DType.Float32);
        var dataset = new TensorDataset(data);
        var sampler = new DistributedSampler(1, 3, shuffle: false, dropLast: true);
        var loader = new DataLoader(dataset, batchSize: 2, sampler: sampler);
        Assert.That(loader.Count, Is.EqualTo(2));
        var seen = loader.SelectMany(b => b[0].ToArray<float>()).ToArray();
        Assert.That(seen, Is.EqualTo(new float[] { 1, 4, 7 }));
        Assert.Throws<ArgumentException>(() => _ = new DataLoader(dataset, 2, shuffle: true, generator: new Generator(0), sampler: sampler));
    }
}
