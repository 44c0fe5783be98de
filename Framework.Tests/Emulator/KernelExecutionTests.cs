using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>Handwritten kernels against C# references on random inputs, several sizes.</summary>
public class KernelExecutionTests : EmulatorTestBase
{
    [TestCase(1, 32, 1)]
    [TestCase(100, 32, 2)]
    [TestCase(1000, 128, 3)]
    [TestCase(4097, 256, 4)]
    public void VectorAddGridStride(int n, int block, int grid)
    {
        var a = RandomFloats(n, 1);
        var b = RandomFloats(n, 2);
        ulong da = Upload(a), db = Upload(b), dc = Alloc<float>(n);
        var f = Load(Kernels.VectorAdd, "vadd");
        Launch(f, (uint)grid, (uint)block, new KernelParameterBuffer().Add(da).Add(db).Add(dc).Add((uint)n));
        var c = Download<float>(dc, n);
        for (int i = 0; i < n; i++) Assert.That(c[i], Is.EqualTo(a[i] + b[i]), $"element {i}");
    }

    [Test]
    public void VectorAddCountsExactTraffic()
    {
        const int n = 1000;
        ulong da = Upload(RandomFloats(n, 1)), db = Upload(RandomFloats(n, 2)), dc = Alloc<float>(n);
        var f = Load(Kernels.VectorAdd, "vadd");
        Launch(f, 3u, 128u, new KernelParameterBuffer().Add(da).Add(db).Add(dc).Add((uint)n));
        var c = Driver.LastLaunch;
        Assert.That(c.GlobalBytesRead, Is.EqualTo(2L * 4 * n));
        Assert.That(c.GlobalBytesWritten, Is.EqualTo(4L * n));
        Assert.That(c.SharedLoads + c.SharedStores + c.AtomicOperations, Is.EqualTo(0));
        Assert.That(c.Launches, Is.EqualTo(1));
        // 384 threads run the 15-instruction prologue; the 1000 loop iterations run 11 each; the
        // 384 threads then execute ret. A thread whose index is >= n takes the early bra instead.
        long prologue = 384L * 15, loop = 11L * n, exit = 384;
        Assert.That(c.Instructions, Is.EqualTo(prologue + loop + exit));
        Launch(f, 3u, 128u, new KernelParameterBuffer().Add(da).Add(db).Add(dc).Add((uint)n));
        Assert.That(Driver.Totals.GlobalBytesRead, Is.EqualTo(4L * 4 * n));
        Assert.That(Driver.Totals.Launches, Is.EqualTo(2));
        Driver.ResetCounters();
        Assert.That(Driver.Totals, Is.EqualTo(Cuda.Emulator.EmulatorCounters.Zero));
    }

    [TestCase(32)]
    [TestCase(100)]
    [TestCase(1000)]
    public void WarpReductionWithShflBfly(int n)
    {
        var x = RandomFloats(n, 3);
        int blocks = (n + 127) / 128, warps = blocks * 4;
        ulong dx = Upload(x), dout = Alloc<float>(warps);
        var f = Load(Kernels.WarpSum, "warp_sum");
        Launch(f, (uint)blocks, 128u, new KernelParameterBuffer().Add(dx).Add(dout).Add((uint)n));
        var got = Download<float>(dout, warps);
        for (int w = 0; w < warps; w++)
        {
            double expected = 0;
            for (int i = w * 32; i < Math.Min(n, w * 32 + 32); i++) expected += x[i];
            Assert.That(got[w], Is.EqualTo(expected).Within(1e-4), $"warp {w}");
        }
    }

    [TestCase(64, 64)]
    [TestCase(1000, 128)]
    [TestCase(777, 256)]
    public void BlockReductionThroughSharedMemory(int n, int block)
    {
        var x = RandomFloats(n, 4);
        int blocks = (n + block - 1) / block;
        ulong dx = Upload(x), dout = Alloc<float>(blocks);
        var f = Load(Kernels.BlockSum, "block_sum");
        Launch(f, (uint)blocks, (uint)block, new KernelParameterBuffer().Add(dx).Add(dout).Add((uint)n), dynamicShared: (uint)(block * 4));
        var got = Download<float>(dout, blocks);
        for (int b = 0; b < blocks; b++)
        {
            double expected = 0;
            for (int i = b * block; i < Math.Min(n, (b + 1) * block); i++) expected += x[i];
            Assert.That(got[b], Is.EqualTo(expected).Within(1e-4), $"block {b}");
        }
        Assert.That(Driver.LastLaunch.SharedStores, Is.GreaterThan(0));
        Assert.That(Driver.LastLaunch.SharedLoads, Is.GreaterThan(0));
    }

    [TestCase(1, 16)]
    [TestCase(500, 16)]
    [TestCase(3000, 7)]
    public void FloatAtomicHistogram(int n, int bins)
    {
        var x = RandomFloats(n, 5, 0f, 1f);
        var w = RandomFloats(n, 6, 0f, 2f);
        ulong dx = Upload(x), dw = Upload(w), dh = Alloc<float>(bins), dc = Alloc<uint>(bins);
        var f = Load(Kernels.Histogram, "histogram");
        int blocks = (n + 255) / 256;
        Launch(f, (uint)blocks, 256u, new KernelParameterBuffer().Add(dx).Add(dw).Add(dh).Add(dc).Add((uint)n).Add((uint)bins));
        var hist = Download<float>(dh, bins);
        var counts = Download<uint>(dc, bins);
        var refHist = new double[bins];
        var refCounts = new uint[bins];
        for (int i = 0; i < n; i++)
        {
            int bin = Math.Min((int)(x[i] * (float)bins), bins - 1);
            refHist[bin] += w[i];
            refCounts[bin]++;
        }
        for (int b = 0; b < bins; b++)
        {
            Assert.That(hist[b], Is.EqualTo(refHist[b]).Within(1e-3), $"bin {b}");
            Assert.That(counts[b], Is.EqualTo(refCounts[b]), $"count {b}");
        }
        Assert.That(Driver.LastLaunch.AtomicOperations, Is.EqualTo(2L * n));
        Assert.That(Driver.LastLaunch.GlobalAtomicBytes, Is.EqualTo(8L * n));
        Assert.That(Driver.LastLaunch.GlobalBytesRead, Is.EqualTo(8L * n), "x and w are read once each");
    }

    [TestCase(1, 1)]
    [TestCase(33, 17)]
    [TestCase(70, 45)]
    public void TwoDimensionalLaunch(int width, int height)
    {
        var x = RandomFloats(width * height, 7);
        ulong dx = Upload(x), dout = Alloc<float>(width * height);
        var f = Load(Kernels.Map2D, "map2d");
        var block = new Dim3(16, 8);
        var grid = new Dim3((uint)(width + 15) / 16, (uint)(height + 7) / 8);
        Launch(f, grid, block, new KernelParameterBuffer().Add(dx).Add(dout).Add((uint)width).Add((uint)height));
        var got = Download<float>(dout, width * height);
        for (int y = 0; y < height; y++)
            for (int xx = 0; xx < width; xx++)
            {
                float v = x[y * width + xx];
                float expected = (v + v) + (float)(xx - y);
                Assert.That(got[y * width + xx], Is.EqualTo(expected), $"({xx}, {y})");
            }
    }

    [TestCase(32)]
    [TestCase(96)]
    [TestCase(320)]
    public void PredicatedDivergenceAndReconvergence(int n)
    {
        var x = RandomFloats(n, 8);
        ulong dx = Upload(x), dout = Alloc<float>(n);
        var f = Load(Kernels.Diverge, "diverge");
        Launch(f, (uint)(n / 32), 32u, new KernelParameterBuffer().Add(dx).Add(dout));
        var got = Download<float>(dout, n);
        var mid = new float[n];
        for (int i = 0; i < n; i++)
        {
            float v = (i & 1) == 1 ? x[i] * 3f : x[i] + 1f;
            for (int k = 0; k < i % 7; k++) v += 0.5f;
            mid[i] = v;
        }
        for (int i = 0; i < n; i++)
        {
            float expected = i % 32 == 31 ? mid[i] : mid[i] + mid[i + 1];
            Assert.That(got[i], Is.EqualTo(expected), $"element {i}");
        }
    }

    /// <summary>
    /// The else-path is laid out after the exit and jumps back to the join, so the join comes before
    /// one of the divergent paths. A full-mask shuffle at the join must wait for the late lanes, as
    /// shfl.sync does on hardware, rather than run with half the warp.
    /// </summary>
    [Test]
    public void ShuffleAtAJoinLaidOutBeforeTheElsePathWaitsForAllLanes()
    {
        string text = Kernels.Header + """
            .visible .entry latejoin(.param .u64 out_ptr)
            {
                .reg .pred %p<2>;
                .reg .b32 %r<6>;
                .reg .b64 %rd<4>;
                ld.param.u64 %rd1, [out_ptr];
                mov.u32 %r1, %laneid;
                and.b32 %r2, %r1, 1;
                setp.eq.u32 %p1, %r2, 1;
                @%p1 bra $L__odd;
                mul.lo.u32 %r3, %r1, 10;
            $L__join:
                shfl.sync.bfly.b32 %r4, %r3, 1, 0x1f, 0xffffffff;
                mul.wide.u32 %rd2, %r1, 4;
                add.s64 %rd3, %rd1, %rd2;
                st.global.u32 [%rd3], %r4;
                ret;
            $L__odd:
                mul.lo.u32 %r3, %r1, 100;
                bra.uni $L__join;
            }
            """;
        ulong d = Alloc<uint>(32);
        Launch(Load(text, "latejoin"), 1u, 32u, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, 32);
        for (uint l = 0; l < 32; l++)
        {
            uint partner = l ^ 1;
            Assert.That(got[l], Is.EqualTo(partner * ((partner & 1) == 1 ? 100u : 10u)), $"lane {l}");
        }
    }
}
