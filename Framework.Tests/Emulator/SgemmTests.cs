using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>cuBLAS emulation: column-major semantics for every transpose pair, and argument checks.</summary>
public class SgemmTests : EmulatorTestBase
{
    /// <summary>Naive column-major reference: C = alpha op(A) op(B) + beta C.</summary>
    private static float[] Reference(BlasOperation ta, BlasOperation tb, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var result = (float[])c.Clone();
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    float x = ta == BlasOperation.None ? a[i + p * lda] : a[p + i * lda];
                    float y = tb == BlasOperation.None ? b[p + j * ldb] : b[j + p * ldb];
                    s += x * (double)y;
                }
                result[i + j * ldc] = (float)(alpha * s + (beta == 0 ? 0 : beta * c[i + j * ldc]));
            }
        return result;
    }

    [Test]
    public void EveryTransposeCombinationAndNonSquareShape(
        [Values(BlasOperation.None, BlasOperation.Transpose)] BlasOperation ta,
        [Values(BlasOperation.None, BlasOperation.Transpose)] BlasOperation tb,
        [Values(1, 3)] int m, [Values(2, 5)] int n, [Values(1, 4)] int k)
    {
        int lda = (ta == BlasOperation.None ? m : k) + 1; // padded leading dimensions
        int ldb = (tb == BlasOperation.None ? k : n) + 2;
        int ldc = m + 3;
        var a = RandomFloats(lda * (ta == BlasOperation.None ? k : m), 11);
        var b = RandomFloats(ldb * (tb == BlasOperation.None ? n : k), 12);
        var c = RandomFloats(ldc * n, 13);
        ulong da = Upload(a), db = Upload(b), dc = Upload(c);
        Driver.Sgemm(ta, tb, m, n, k, 1.5f, da, lda, db, ldb, 0.5f, dc, ldc);
        var expected = Reference(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, 0.5f, c, ldc);
        Assert.That(Download<float>(dc, c.Length), Is.EqualTo(expected).Within(1e-5f));
    }

    [Test]
    public void RowMajorProductBySwappingOperands()
    {
        // Row-major A (2x3) * B (3x4) = C (2x4): sgemm(N, N, m: 4, n: 2, k: 3, B, ldb 4, A, lda 3, C, ldc 4).
        float[] a = { 1, 2, 3, 4, 5, 6 };
        float[] b = { 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1 };
        ulong da = Upload(a), db = Upload(b), dc = Alloc<float>(8);
        Driver.Sgemm(BlasOperation.None, BlasOperation.None, 4, 2, 3, 1f, db, 4, da, 3, 0f, dc, 4);
        Assert.That(Download<float>(dc, 8), Is.EqualTo(new float[] { 1, 2, 3, 6, 4, 5, 6, 15 }));
    }

    [Test]
    public void BetaZeroDoesNotReadC()
    {
        var c = new float[4];
        Array.Fill(c, float.NaN);
        ulong da = Upload(new float[] { 1, 2, 3, 4 }), db = Upload(new float[] { 1, 0, 0, 1 }), dc = Upload(c);
        Driver.Sgemm(BlasOperation.None, BlasOperation.None, 2, 2, 2, 1f, da, 2, db, 2, 0f, dc, 2);
        Assert.That(Download<float>(dc, 4), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void StridedBatched([Values(BlasOperation.None, BlasOperation.Transpose)] BlasOperation ta,
        [Values(BlasOperation.None, BlasOperation.Transpose)] BlasOperation tb)
    {
        const int m = 3, n = 2, k = 4, batch = 3;
        int lda = ta == BlasOperation.None ? m : k, ldb = tb == BlasOperation.None ? k : n, ldc = m;
        int sa = lda * (ta == BlasOperation.None ? k : m) + 1, sb = ldb * (tb == BlasOperation.None ? n : k) + 2, sc = ldc * n + 3;
        var a = RandomFloats(sa * batch, 21);
        var b = RandomFloats(sb * batch, 22);
        var c = RandomFloats(sc * batch, 23);
        ulong da = Upload(a), db = Upload(b), dc = Upload(c);
        Driver.SgemmStridedBatched(ta, tb, m, n, k, 2f, da, lda, sa, db, ldb, sb, 1f, dc, ldc, sc, batch);
        var got = Download<float>(dc, c.Length);
        for (int i = 0; i < batch; i++)
        {
            var expected = Reference(ta, tb, m, n, k, 2f, a[(i * sa)..], lda, b[(i * sb)..], ldb, 1f, c[(i * sc)..((i + 1) * sc)], ldc);
            Assert.That(got[(i * sc)..((i + 1) * sc)], Is.EqualTo(expected).Within(1e-5f), $"batch {i}");
        }
        Assert.That(Driver.Totals.BlasCalls, Is.EqualTo(1));
    }

    [Test]
    public void ArgumentChecksNameTheProblem()
    {
        ulong a = Alloc<float>(12), b = Alloc<float>(12), c = Alloc<float>(12);
        void Fails(Action call, string part)
        {
            var e = Assert.Throws<CudaException>(() => call())!;
            Assert.That(e.Error, Is.EqualTo(CudaError.BlasFailed));
            Assert.That(e.Message, Does.Contain(part));
        }
        var N = BlasOperation.None; var T = BlasOperation.Transpose;
        Fails(() => Driver.Sgemm(N, N, -1, 2, 2, 1, a, 2, b, 2, 0, c, 2), "m, n, k must be >= 0");
        Fails(() => Driver.Sgemm(N, N, 3, 2, 2, 1, a, 2, b, 2, 0, c, 3), "lda must be >= max(1, m) = 3, got 2");
        Fails(() => Driver.Sgemm(T, N, 3, 2, 4, 1, a, 3, b, 4, 0, c, 3), "lda must be >= max(1, k) = 4, got 3");
        Fails(() => Driver.Sgemm(N, T, 2, 3, 2, 1, a, 2, b, 2, 0, c, 2), "ldb must be >= max(1, n) = 3, got 2");
        Fails(() => Driver.Sgemm(N, N, 2, 2, 2, 1, a, 2, b, 2, 0, c, 1), "ldc must be >= max(1, m) = 2, got 1");
        Fails(() => Driver.Sgemm(N, N, 4, 4, 4, 1, a, 4, b, 4, 0, c, 4), "matrix A (4 x 4, ld 4)");
        Fails(() => Driver.Sgemm(N, N, 2, 2, 2, 1, a, 2, b + 48, 2, 0, c, 2), "matrix B");
        Fails(() => Driver.Sgemm((BlasOperation)7, N, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2), "transa");
        Fails(() => Driver.SgemmStridedBatched(N, N, 2, 2, 2, 1, a, 2, 4, b, 2, 4, 0, c, 2, 4, 4), "matrix A");
        Fails(() => Driver.SgemmStridedBatched(N, N, 2, 2, 2, 1, a, 2, 4, b, 2, 4, 0, c, 2, 4, -1), "batchCount");
    }

    [Test]
    public void EmptyProductScalesC()
    {
        ulong c = Upload(new float[] { 1, 2, 3, 4 });
        Driver.Sgemm(BlasOperation.None, BlasOperation.None, 2, 2, 0, 1f, 0, 2, 0, 1, 3f, c, 2);
        Assert.That(Download<float>(c, 4), Is.EqualTo(new float[] { 3, 6, 9, 12 }));
    }
}
