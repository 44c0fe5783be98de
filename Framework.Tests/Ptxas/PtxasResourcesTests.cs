using NUnit.Framework;

namespace Framework.Tests.Ptxas;

/// <summary>The ptxas -v parser and the occupancy arithmetic behind kernels/README.md's table (no ptxas needed).</summary>
public class PtxasResourcesTests
{
    private const string Output = """
        ptxas info    : 0 bytes gmem
        ptxas info    : Compiling entry function 'a_f32' for 'sm_90'
        ptxas info    : Function properties for a_f32
            0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
        ptxas info    : Used 40 registers, 400 bytes cmem[0]
        ptxas info    : Compiling entry function 'b_f64' for 'sm_90'
        ptxas info    : Function properties for b_f64
            8 bytes stack frame, 8 bytes spill stores, 24 bytes spill loads
        ptxas info    : Used 128 registers, 1088 bytes smem, 536 bytes cmem[0]
        """;

    [Test]
    public void ParsesRegistersSpillsStackAndSharedPerKernel()
    {
        var k = PtxasResources.Parse("m.ptx", "sm_90", Output);
        Assert.That(k, Has.Count.EqualTo(2));
        Assert.That(k[0], Is.EqualTo(new KernelResources("m.ptx", "a_f32", "sm_90", 40, 0, 0, 0, 0)));
        Assert.That(k[1], Is.EqualTo(new KernelResources("m.ptx", "b_f64", "sm_90", 128, 8, 24, 8, 1088)));
        Assert.That(k[1].SpillBytes, Is.EqualTo(32));
    }

    // 256 threads = 8 warps per block. Registers are allocated per warp in units of 256, per quarter of
    // the 64 K file: 40 regs -> 1280/warp -> 12 warps per quarter -> 48 warps -> 6 blocks.
    [TestCase("sm_90", 32, 0, 8, 1.0, "threads")]
    [TestCase("sm_90", 40, 0, 6, 0.75, "registers")]
    [TestCase("sm_90", 128, 1088, 2, 0.25, "registers")]
    [TestCase("sm_90", 150, 1088, 1, 0.125, "registers")]
    [TestCase("sm_75", 32, 0, 4, 1.0, "threads")]
    [TestCase("sm_75", 128, 0, 2, 0.5, "registers")]
    [TestCase("sm_80", 16, 48 * 1024, 3, 0.375, "shared")]
    public void OccupancyAt256Threads(string arch, int registers, int shared, int blocks, double occupancy, string limiter)
    {
        var k = new KernelResources("m.ptx", "k", arch, registers, 0, 0, 0, shared);
        Assert.That(ArchLimits.Of(arch).Occupancy(k, 256), Is.EqualTo((blocks, occupancy, limiter)));
    }
}
