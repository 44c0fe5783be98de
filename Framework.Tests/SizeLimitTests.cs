using Framework.Nn;
using NUnit.Framework;

namespace Framework.Tests;

/// <summary>
/// Checked size arithmetic (issue 10, item 1): factories, views and layer output-size rules reject
/// negative or overflowing sizes with an <see cref="ArgumentException"/> before anything is allocated.
/// Shape checks run before any backend is involved, so the CPU covers them for every device.
/// </summary>
public sealed class SizeLimitTests
{
    /// <summary>Runs <paramref name="action"/>, expects an ArgumentException containing every fragment, and checks that no storage was allocated.</summary>
    private static ArgumentException Rejected(Action action, params string[] fragments)
    {
        // Earlier tests' unreachable storages are finalized first, so that the finalizer cannot move
        // the process-wide counters while the action runs.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long storages = MemoryStats.LiveStorages(Device.Cpu), bytes = MemoryStats.LiveBytes(Device.Cpu);
        var ex = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => action()) as ArgumentException;
        foreach (var f in fragments) Assert.That(ex!.Message, Does.Contain(f));
        Assert.That(MemoryStats.LiveStorages(Device.Cpu), Is.EqualTo(storages), "a storage was allocated before the check");
        Assert.That(MemoryStats.LiveBytes(Device.Cpu), Is.EqualTo(bytes), "bytes were allocated before the check");
        return ex!;
    }

    [Test]
    public void MaxElementsKeepsByteCountsOfTheWidestDTypeInALong()
    {
        Assert.That(Tensor.MaxElements, Is.EqualTo(1L << 48));
        Assert.That(Tensor.MaxElements <= long.MaxValue / 8 / 4, "bytes of float64/int64, and a few sums of them, fit in a long");
    }

    [Test]
    public void ZerosWhoseElementCountWrapsIsRejected()
    {
        // 64 * 536903681 * 536838145 = 2^64 + 64: the old unchecked product was 64, and 256 bytes were allocated.
        Rejected(() => Tensor.Zeros([64, 536903681, 536838145]), "Tensor.MaxElements", "[64, 536903681, 536838145]");
        Rejected(() => Tensor.Empty([int.MaxValue, int.MaxValue, int.MaxValue]), "MaxElements");
        Rejected(() => Tensor.Ones([1 << 30, 1 << 30], DType.Float64), "MaxElements");
    }

    [Test]
    public void NegativeSizesAreRejectedByEveryFactory()
    {
        Rejected(() => Tensor.Zeros([2, -1]), "non-negative", "[2, -1]");
        Rejected(() => Tensor.Full([-3], 1.0), "non-negative");
        Rejected(() => Tensor.Rand([-1, 2], new Generator(0)), "non-negative");
        Rejected(() => Tensor.Randn([4, -4], new Generator(0)), "non-negative");
        Rejected(() => Tensor.FromArray(new float[] { 1, 2 }, [-2, -1]), "non-negative");
    }

    [Test]
    public void EmptyTensorsWithLargeDimsAreFineWhileTheirStridesFit()
    {
        using var t = Tensor.Zeros([0, 1 << 20, 1 << 20]);
        Assert.That(t.Numel, Is.EqualTo(0));
        // The strides of [0, 2^31-1, 2^31-1, 2^31-1] would wrap a long: counted as 1 per empty dim, the span is too large.
        Rejected(() => Tensor.Zeros([0, int.MaxValue, int.MaxValue, int.MaxValue]), "MaxElements");
    }

    [Test]
    public void ArangeRejectsNonFiniteAndHugeRangesBeforeAllocating()
    {
        Rejected(() => Tensor.Arange(0, double.PositiveInfinity), "finite");
        Rejected(() => Tensor.Arange(0, 1, double.NaN), "finite");
        Rejected(() => Tensor.Arange(0, 1e18, 1), "at most");
    }

    [Test]
    public void RandomFactoriesRejectMoreThanAManagedArrayBeforeDrawing()
    {
        Rejected(() => Tensor.Rand([1 << 20, 1 << 12], new Generator(0)), "at most");
    }

    [Test]
    public void ExpandToNegativeSizeIsRejected()
    {
        using var x = Tensor.Ones([3]);
        // Was shape [-2, 3] with a storage of -24 bytes.
        Rejected(() => x.Expand(-2, 3), "non-negative", "-2");
        Rejected(() => x.Expand(-5, -1), "non-negative");
    }

    [Test]
    public void ExpandBeyondMaxElementsIsRejected()
    {
        using var x = Tensor.Ones([1]);
        Rejected(() => x.Expand(int.MaxValue, int.MaxValue, int.MaxValue), "MaxElements");
        using var ok = x.Expand(int.MaxValue, 1 << 10);
        Assert.That(ok.Numel, Is.EqualTo((long)int.MaxValue << 10), "a large stride-0 view within the limit is fine");
    }

    [Test]
    public void SliceWithHugeStepGivesOneElement()
    {
        using var x = Tensor.Arange(0, 20, 1, DType.Float64);
        // Was shape [-1]: end - start + step - 1 wrapped in int.
        using var s = x.Slice(0, 0, 10, int.MaxValue - 5);
        Assert.That(s.Shape, Is.EqualTo(new[] { 1 }));
        Assert.That(s.ToArray<double>(), Is.EqualTo(new double[] { 0 }));
        using var s2 = x.Slice(0, 3, int.MaxValue, int.MaxValue);
        Assert.That(s2.ToArray<double>(), Is.EqualTo(new double[] { 3 }));
        using var s3 = x.Slice(0, 1, 20, 1 << 30);
        Assert.That(s3.Shape, Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void NarrowWhoseEndWrapsIsRejected()
    {
        using var x = Tensor.Zeros([10]);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Narrow(0, 5, int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Narrow(0, 2, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Narrow(0, -1, 2));
        using var n = x.Narrow(0, 4, 6);
        Assert.That(n.Shape, Is.EqualTo(new[] { 6 }));
    }

    [Test]
    public void ReshapeAndViewCheckTheirProducts()
    {
        using var x = Tensor.Zeros([6]);
        Rejected(() => x.Reshape(int.MaxValue, int.MaxValue, int.MaxValue, 0), "MaxElements");
        Rejected(() => x.View(1 << 30, 1 << 30, -1), "MaxElements");
        Rejected(() => x.Reshape(-2, 3), "invalid shape dimension -2");
        using var e = Tensor.Ones([1]).Expand(1 << 16, 1 << 16);
        // 2^32 elements cannot be one int-sized dim.
        Rejected(() => e.Reshape(-1), "inferred size");
        Rejected(() => e.Flatten(), "merged size");
    }

    [Test]
    public void CatWhoseTotalSizeWrapsIsRejected()
    {
        using var one = Tensor.Ones([1]);
        using var big = one.Expand(1 << 30);
        // 3 * 2^30 wrapped to a negative int before.
        Rejected(() => Tensor.Cat([big, big, big]), "Cat", "concatenated size");
    }

    [Test]
    public void StorageSizesOutsideTheLimitAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CpuStorage(-24));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CpuStorage(long.MaxValue));
    }

    [Test]
    public void Conv2dWithHugeDilationIsRejected()
    {
        using var x = Tensor.Zeros([1, 1, 8, 8]);
        using var w = Tensor.Zeros([1, 1, 3, 3]);
        // dilation 2^30: dilation * (k - 1) + 1 wrapped to a negative size that passed the check.
        Rejected(() => F.Conv2d(x, w, dilation: 1 << 30), "larger than the padded input");
        Rejected(() => F.Conv2d(x, w, null, (1, 1), (int.MaxValue, int.MaxValue), (1, 1)), "must fit in int sizes");
        Rejected(() => F.Conv2d(x, w, null, (1, 1), (1 << 30, 0), (1, 1)), "must fit in int sizes");
        Assert.Throws(Is.InstanceOf<ArgumentException>(), () => new Conv2d(1, 1, 3, dilation: 1 << 30));
        Assert.Throws(Is.InstanceOf<ArgumentException>(), () => new Conv2d(1, 1, 3, dilation: int.MaxValue));
    }

    [Test]
    public void Conv2dWhoseOutputOrColumnsOverflowIsRejected()
    {
        // A 1x1 conv over a wide, short image: OH * OW = 2^31 columns per sample does not fit the int column count.
        using var x = Tensor.Ones([1, 1, 1, 1]).Expand(1, 1, 2, 1 << 30);
        using var w = Tensor.Zeros([1, 1, 1, 1]);
        Rejected(() => F.Conv2d(x, w), "column matrix");
    }

    [Test]
    public void PoolingWithHugeDilationOrPaddingIsRejected()
    {
        using var x = Tensor.Zeros([1, 1, 8, 8]);
        Rejected(() => F.MaxPool2d(x, 3, 1, 1, dilation: 1 << 30), "larger than the padded input");
        Rejected(() => F.MaxPool2d(x, 3, 1, 0, dilation: int.MaxValue), "larger than the padded input");
        using var wide = Tensor.Ones([1, 1, 1, 1]).Expand(1, 1, 1, int.MaxValue);
        Rejected(() => F.MaxPool2d(wide, (1, 4), (1, 1), (0, 2)), "must fit in int sizes");
    }

    [Test]
    public void PoolingAndGroupNormWhosePlaneCountsOverflowAreRejected()
    {
        // N * C = 2^32 planes wrapped to 0 in int.
        using var x = Tensor.Ones([1, 1, 2, 2]).Expand(1 << 16, 1 << 16, 2, 2);
        Rejected(() => F.MaxPool2d(x, 2), "planes");
        Rejected(() => F.AvgPool2d(x, 2), "planes");
        Rejected(() => F.AdaptiveAvgPool2d(x, 1), "planes");
        Rejected(() => F.InstanceNorm(x), "N * groups");
        Rejected(() => F.GroupNorm(x, 1 << 16), "N * groups");
        using var wide = Tensor.Ones([1, 1, 1, 1]).Expand(1, 1, 1 << 16, 1 << 16);
        Rejected(() => F.MaxPool2d(wide, 1), "plane size");
    }

    [Test]
    public void LinearAndMatmulWhoseRowCountsOverflowAreRejected()
    {
        using var x = Tensor.Ones([1, 1, 1]).Expand(1 << 16, 1 << 16, 1);
        using var w = Tensor.Zeros([2, 1]);
        Rejected(() => F.Linear(x, w), "rows");
        using var b = Tensor.Zeros([1, 2]);
        Rejected(() => x.Matmul(b), "Matmul");
        Assert.Throws(Is.InstanceOf<ArgumentException>(), () => new Linear(int.MaxValue, int.MaxValue));
    }
}
