using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>cublasDgemm emulation: the Sgemm contract in double precision (column-major, checks, traffic).</summary>
public class DgemmTests : EmulatorTestBase
{
    private static double[] Reference(BlasOperation ta, BlasOperation tb, int m, int n, int k, double alpha,
        double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc)
    {
        var result = (double[])c.Clone();
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (ta == BlasOperation.None ? a[i + p * lda] : a[p + i * lda]) * (tb == BlasOperation.None ? b[p + j * ldb] : b[j + p * ldb]);
                result[i + j * ldc] = alpha * s + (beta == 0 ? 0 : beta * c[i + j * ldc]);
            }
        return result;
    }

    private static double[] RandomDoubles(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
    }

    [Test]
    public void EveryTransposeCombinationAndPaddedLeadingDimensions(
        [Values(BlasOperation.None, BlasOperation.Transpose)] BlasOperation ta,
        [Values(BlasOperation.None, BlasOperation.Transpose)] BlasOperation tb)
    {
        const int m = 3, n = 5, k = 4;
        int lda = (ta == BlasOperation.None ? m : k) + 1, ldb = (tb == BlasOperation.None ? k : n) + 2, ldc = m + 3;
        var a = RandomDoubles(lda * (ta == BlasOperation.None ? k : m), 1);
        var b = RandomDoubles(ldb * (tb == BlasOperation.None ? n : k), 2);
        var c = RandomDoubles(ldc * n, 3);
        ulong da = Upload(a), db = Upload(b), dc = Upload(c);
        Driver.Dgemm(ta, tb, m, n, k, 1.5, da, lda, db, ldb, 0.5, dc, ldc);
        Assert.That(Download<double>(dc, c.Length), Is.EqualTo(Reference(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 0.5, c, ldc)).Within(1e-14));
        Assert.That(Driver.Totals.GlobalBytesWritten, Is.EqualTo(8L * m * n), "C written once, 8 bytes per element");
    }

    [Test]
    public void StridedBatchedWithASharedOperand()
    {
        // stride 0 for A: one matrix shared by every product (a broadcast batch).
        const int m = 2, n = 3, k = 4, batch = 3;
        var a = RandomDoubles(m * k, 4);
        var b = RandomDoubles(k * n * batch, 5);
        ulong da = Upload(a), db = Upload(b), dc = Alloc<double>(m * n * batch);
        Driver.DgemmStridedBatched(BlasOperation.None, BlasOperation.None, m, n, k, 1, da, m, 0, db, k, k * n, 0, dc, m, m * n, batch);
        var got = Download<double>(dc, m * n * batch);
        for (int i = 0; i < batch; i++)
            Assert.That(got[(i * m * n)..((i + 1) * m * n)],
                Is.EqualTo(Reference(BlasOperation.None, BlasOperation.None, m, n, k, 1, a, m, b[(i * k * n)..], k, 0, new double[m * n], m)).Within(1e-14), $"batch {i}");
    }

    [Test]
    public void MisalignedOrOutOfBoundsMatricesAreRefused()
    {
        ulong a = Alloc<double>(4), b = Alloc<double>(4), c = Alloc<double>(4);
        var N = BlasOperation.None;
        var e = Assert.Throws<CudaException>(() => Driver.Dgemm(N, N, 2, 2, 2, 1, a + 4, 2, b, 2, 0, c, 2))!;
        Assert.That(e.Message, Does.Contain("8-byte aligned"));
        e = Assert.Throws<CudaException>(() => Driver.Dgemm(N, N, 3, 2, 2, 1, a, 3, b, 2, 0, c, 3))!;
        Assert.That(e.Message, Does.Contain("matrix A"));
        Assert.That(e.Call, Is.EqualTo("cublasDgemm_v2"));
    }
}
