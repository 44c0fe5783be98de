using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Framework.Backends.Cpu;
using NUnit.Framework;

namespace Framework.Tests.Cpu;

/// <summary>
/// Gemm against a naive double-accumulated reference: every transpose combination, accumulate on/off,
/// padded leading dimensions, edge sizes around the tile sizes, each micro-kernel this machine can run.
/// </summary>
public unsafe class GemmKernelTests
{
    /// <summary>
    /// Which code path computes the product: the public dispatcher, one kernel forced, or the
    /// multi-threaded split forced even for small sizes (so its rectangle edges meet odd shapes).
    /// </summary>
    public enum Path { Auto, Avx512, Avx2, Scalar, Parallel }

    static readonly int[] Sizes = [0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129];

    static IEnumerable<TestCaseData> Combos()
    {
        foreach (Path path in Enum.GetValues<Path>())
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return new TestCaseData(path, ta, tb);
    }

    [TestCaseSource(nameof(Combos))]
    public void SgemmSweep(Path path, bool transA, bool transB) => Sweep<float>(path, transA, transB);

    [TestCaseSource(nameof(Combos))]
    public void DgemmSweep(Path path, bool transA, bool transB) => Sweep<double>(path, transA, transB);

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void LargeMultiThreaded(bool transA, bool transB)
    {
        var rng = new Random(7);
        Check<float>(Path.Auto, transA, transB, 300, 257, 513, 3, 1, 5, accumulate: false, rng);
        Check<double>(Path.Auto, transA, transB, 257, 150, 300, 1, 2, 0, accumulate: true, rng);
    }

    [Test]
    public void LongKCrossesSeveralKBlocks()
    {
        // k > 2 * KC: the second and third K blocks must add to the first, never overwrite it.
        var rng = new Random(11);
        Check<float>(Path.Auto, false, false, 37, 45, 700, 0, 0, 0, accumulate: false, rng);
        Check<double>(Path.Auto, true, true, 37, 45, 700, 0, 0, 0, accumulate: true, rng);
    }

    [Test]
    public void TinyProducts()
    {
        var rng = new Random(3);
        foreach (bool acc in new[] { false, true })
        {
            Check<float>(Path.Auto, false, false, 4, 4, 4, 0, 0, 0, acc, rng);
            Check<float>(Path.Auto, true, true, 1, 1, 1, 0, 0, 0, acc, rng);
            Check<double>(Path.Auto, false, true, 2, 3, 5, 1, 1, 1, acc, rng);
        }
    }

    [Test]
    public void SingleRowTimesMatrix()
    {
        // m = 1 with a contiguous row of A takes the memory-bound row-times-matrix path.
        var rng = new Random(13);
        foreach (bool tb in new[] { false, true })
            foreach (bool acc in new[] { false, true })
            {
                Check<float>(Path.Auto, false, tb, 1, 300, 77, 0, 3, 0, acc, rng);
                Check<double>(Path.Auto, false, tb, 1, 33, 129, 2, 0, 1, acc, rng);
                Check<float>(Path.Auto, true, tb, 1, 40, 50, 1, 1, 1, acc, rng);
            }
    }

    [Test]
    public void NaNInOutputDoesNotLeakWhenOverwriting()
    {
        // Check fills C with NaN before every overwrite; this case also covers the k = 0 clear.
        var rng = new Random(5);
        foreach (int k in new[] { 0, 1, 300 })
        {
            Check<float>(Path.Auto, false, false, 70, 70, k, 0, 0, 2, accumulate: false, rng);
            Check<double>(Path.Auto, true, false, 70, 70, k, 0, 0, 2, accumulate: false, rng);
        }
    }

    [Test]
    public void BatchedMatchesPerMatrix()
    {
        const int batch = 37, m = 9, n = 20, k = 13;
        var rng = new Random(9);
        float[] a = Fill<float>(batch * m * k, rng), b = Fill<float>(batch * k * n, rng);
        float[] c = new float[batch * m * n], expected = new float[batch * m * n];
        Array.Fill(c, float.NaN);
        fixed (float* pa = a, pb = b, pc = c, pe = expected)
        {
            Gemm.SgemmBatched(true, false, m, n, k, pa, m, m * k, pb, n, k * n, pc, n, m * n, batch, accumulate: false);
            for (int t = 0; t < batch; t++)
                Gemm.Sgemm(true, false, m, n, k, pa + t * m * k, m, pb + t * k * n, n, pe + t * m * n, n, false);
        }
        Assert.That(c, Is.EqualTo(expected));

        double[] da = Fill<double>(batch * m * k, rng), db = Fill<double>(batch * k * n, rng);
        double[] dc = Fill<double>(batch * m * n, rng), dexpected = (double[])dc.Clone();
        fixed (double* pa = da, pb = db, pc = dc, pe = dexpected)
        {
            Gemm.DgemmBatched(false, true, m, n, k, pa, k, m * k, pb, k, k * n, pc, n, m * n, batch, accumulate: true);
            for (int t = 0; t < batch; t++)
                Gemm.Dgemm(false, true, m, n, k, pa + t * m * k, k, pb + t * k * n, k, pe + t * m * n, n, true);
        }
        Assert.That(dc, Is.EqualTo(dexpected));

        // strideC = 0 with accumulate sums every product into one C (weight gradient of a shared matrix);
        // 80 x 32^3 is above the threshold where batch entries would otherwise run in parallel.
        const int bs = 80, s = 32;
        float[] xa = Fill<float>(bs * s * s, rng), xb = Fill<float>(s * s, rng);
        float[] sum = new float[s * s], sumExpected = new float[s * s];
        fixed (float* pa = xa, pb = xb, ps = sum, pe = sumExpected)
        {
            Gemm.SgemmBatched(false, false, s, s, s, pa, s, s * s, pb, s, 0, ps, s, 0, bs, accumulate: true);
            for (int t = 0; t < bs; t++)
                Gemm.Sgemm(false, false, s, s, s, pa + t * s * s, s, pb, s, pe, s, true);
        }
        Assert.That(sum, Is.EqualTo(sumExpected));
    }

    [Test]
    public void SingleThreadedCallsDoNotAllocate()
    {
        // Pack buffers are thread-static and grow-only: a repeated product below the parallel threshold
        // must not allocate at all once warm.
        var rng = new Random(17);
        float[] a = Fill<float>(100 * 90, rng), b = Fill<float>(90 * 80, rng), c = new float[100 * 80];
        fixed (float* pa = a, pb = b, pc = c)
        {
            Gemm.Sgemm(false, true, 100, 80, 90, pa, 90, pb, 90, pc, 80, false);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++)
                Gemm.Sgemm(false, true, 100, 80, 90, pa, 90, pb, 90, pc, 80, i > 0);
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0));
        }
    }

    [Test]
    public void RejectsTooSmallLeadingDimensions()
    {
        float[] buf = new float[64];
        fixed (float* p = buf)
        {
            nint q = (nint)p;
            Assert.That(() => Gemm.Sgemm(false, false, 4, 4, 5, (float*)q, 4, (float*)q, 4, (float*)q, 4, false),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("lda >= 5"));
            Assert.That(() => Gemm.Sgemm(false, true, 4, 4, 5, (float*)q, 5, (float*)q, 4, (float*)q, 4, false),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ldb >= 5"));
            Assert.That(() => Gemm.Sgemm(false, false, 4, 6, 5, (float*)q, 5, (float*)q, 6, (float*)q, 4, false),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ldc >= 6"));
            Assert.That(() => Gemm.Sgemm(false, false, -1, 4, 5, (float*)q, 5, (float*)q, 4, (float*)q, 4, false),
                Throws.TypeOf<ArgumentOutOfRangeException>());
        }
    }

    static void Sweep<T>(Path path, bool transA, bool transB) where T : unmanaged, INumber<T>
    {
        if (path == Path.Avx512 && !Vector512.IsHardwareAccelerated) Assert.Ignore("Vector512 is not accelerated here");
        if (path == Path.Avx2 && !(Vector256.IsHardwareAccelerated && Fma.IsSupported)) Assert.Ignore("no AVX2+FMA here");
        // Each size appears once in each of the three positions; the other two are drawn from the list,
        // so every size meets every role without the full 17^3 cross product (keeps the file fast).
        var rng = new Random(HashCode.Combine((int)path, transA, transB, typeof(T).Name.Length));
        for (int pos = 0; pos < 3; pos++)
        {
            foreach (int s in Sizes)
            {
                int[] dims = [Sizes[rng.Next(Sizes.Length)], Sizes[rng.Next(Sizes.Length)], Sizes[rng.Next(Sizes.Length)]];
                dims[pos] = s;
                // Forced kernels bypass the dispatcher, which handles the empty cases itself.
                if (path != Path.Auto && (dims[0] == 0 || dims[1] == 0 || dims[2] == 0)) continue;
                bool acc = rng.Next(2) == 1;
                Check<T>(path, transA, transB, dims[0], dims[1], dims[2], rng.Next(3), rng.Next(3), rng.Next(3), acc, rng);
            }
        }
    }

    /// <summary>
    /// Runs one product with leading dimensions padded by padA/padB/padC and checks it against the
    /// double-accumulated reference, that padding columns of C are untouched, and that an overwrite
    /// never reads C (C starts as NaN).
    /// </summary>
    static void Check<T>(Path path, bool transA, bool transB, int m, int n, int k, int padA, int padB, int padC,
        bool accumulate, Random rng) where T : unmanaged, INumber<T>
    {
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = Math.Max(1, aCols) + padA, ldb = Math.Max(1, bCols) + padB, ldc = Math.Max(1, n) + padC;
        T[] a = Fill<T>(aRows * lda, rng), b = Fill<T>(bRows * ldb, rng);
        T[] c = Fill<T>(m * ldc, rng);
        T sentinel = T.CreateChecked(12345);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
                c[i * ldc + j] = j >= n ? sentinel : accumulate ? c[i * ldc + j] : T.CreateChecked(double.NaN);
        T[] c0 = (T[])c.Clone();

        fixed (T* pa = a, pb = b, pc = c)
            Call(path, transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);

        double eps = typeof(T) == typeof(float) ? 1.2e-7 : 2.3e-16;
        double[] ad = Array.ConvertAll(a, double.CreateChecked), bd = Array.ConvertAll(b, double.CreateChecked);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                double got = double.CreateChecked(c[i * ldc + j]);
                if (j >= n)
                {
                    if (got != 12345) Assert.Fail($"padding C[{i},{j}] was written ({Describe()})");
                    continue;
                }
                double sum = accumulate ? double.CreateChecked(c0[i * ldc + j]) : 0, mag = Math.Abs(sum);
                for (int p = 0; p < k; p++)
                {
                    double x = transA ? ad[p * lda + i] : ad[i * lda + p];
                    double y = transB ? bd[j * ldb + p] : bd[p * ldb + j];
                    sum += x * y;
                    mag += Math.Abs(x * y);
                }
                // Forward error of a k-term dot product is bounded by ~k * eps * sum |x*y|.
                double tol = (k + 2) * eps * mag + 1e-30;
                if (!(Math.Abs(got - sum) <= tol))
                    Assert.Fail($"C[{i},{j}] = {got}, expected {sum} +- {tol} ({Describe()})");
            }
        }

        string Describe() => $"{typeof(T).Name} {path} transA={transA} transB={transB} m={m} n={n} k={k} " +
                             $"lda={lda} ldb={ldb} ldc={ldc} accumulate={accumulate}";
    }

    static void Call<T>(Path path, bool transA, bool transB, int m, int n, int k, T* a, int lda, T* b, int ldb,
        T* c, int ldc, bool accumulate) where T : unmanaged, INumber<T>
    {
        switch (path)
        {
            case Path.Auto when typeof(T) == typeof(float):
                Gemm.Sgemm(transA, transB, m, n, k, (float*)a, lda, (float*)b, ldb, (float*)c, ldc, accumulate);
                break;
            case Path.Auto:
                Gemm.Dgemm(transA, transB, m, n, k, (double*)a, lda, (double*)b, ldb, (double*)c, ldc, accumulate);
                break;
            case Path.Avx512:
                GemmDriver<T, GemmKernel512<T>>.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                break;
            case Path.Avx2:
                GemmDriver<T, GemmKernel256<T>>.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                break;
            case Path.Parallel when Vector512.IsHardwareAccelerated:
                GemmDriver<T, GemmKernel512<T>>.RunParallel(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                break;
            case Path.Parallel:
                GemmDriver<T, GemmKernelScalar<T>>.RunParallel(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                break;
            default:
                GemmDriver<T, GemmKernelScalar<T>>.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                break;
        }
    }

    static T[] Fill<T>(int length, Random rng) where T : unmanaged, INumber<T>
    {
        var x = new T[length];
        for (int i = 0; i < length; i++) x[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return x;
    }
}
