using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>Each planted bug must fail the launch with the right check and PTX line.</summary>
public class PlantedBugTests : EmulatorTestBase
{
    private const string OffByOneStore = Kernels.Header + """
        .visible .entry fill(.param .u64 out_ptr, .param .u32 n, .param .f32 value)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<6>;
            .reg .f32 %f<2>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            ld.param.u32 %r1, [n];
            ld.param.f32 %f1, [value];
            mov.u32 %r2, %ctaid.x;
            mov.u32 %r3, %ntid.x;
            mov.u32 %r4, %tid.x;
            mad.lo.s32 %r5, %r2, %r3, %r4;
            setp.gt.u32 %p1, %r5, %r1;      // BUG: should be ge, so i == n writes past the end
            @%p1 bra $L__end;
            mul.wide.u32 %rd2, %r5, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.f32 [%rd3], %f1;      // STORE
        $L__end:
            ret;
        }
        """;

    [Test]
    public void OffByOneOutOfBoundsStore()
    {
        const int n = 100;
        ulong d = Alloc<float>(n);
        var f = Load(OffByOneStore, "fill");
        var e = Assert.Throws<EmulatorCheckException>(() =>
            Launch(f, 1u, 128u, new KernelParameterBuffer().Add(d).Add((uint)n).Add(1f)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalOutOfBounds));
        Assert.That(e.Line, Is.EqualTo(LineOf(OffByOneStore, "// STORE")));
        Assert.That(e.Kernel, Is.EqualTo("fill"));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(100, 0, 0)));
        Assert.That(e.Block, Is.EqualTo(new Dim3(0, 0, 0)));
        Assert.That(e.Message, Does.Contain("fill").And.Contain("line"));
        Assert.That(e.Error, Is.EqualTo(CudaError.IllegalAddress));
    }

    private const string MissingBarrier = Kernels.Header + """
        .visible .entry rotate(.param .u64 out_ptr)
        {
            .shared .align 4 .f32 buf[64];
            .reg .b32 %r<8>;
            .reg .f32 %f<3>;
            .reg .b64 %rd<8>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %tid.x;
            mov.u32 %r2, %ntid.x;
            cvt.rn.f32.u32 %f1, %r1;
            mov.u32 %r3, buf;
            shl.b32 %r4, %r1, 2;
            add.s32 %r5, %r3, %r4;
            st.shared.f32 [%r5], %f1;
            // BUG: no bar.sync here
            add.s32 %r6, %r1, 1;
            rem.u32 %r6, %r6, %r2;
            shl.b32 %r6, %r6, 2;
            add.s32 %r7, %r3, %r6;
            ld.shared.f32 %f2, [%r7];       // READ
            mul.wide.u32 %rd2, %r1, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.f32 [%rd3], %f2;
            ret;
        }
        """;

    [Test]
    public void MissingBarrierIsASharedRace()
    {
        ulong d = Alloc<float>(64);
        var f = Load(MissingBarrier, "rotate");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.SharedRace));
        Assert.That(e.Line, Is.EqualTo(LineOf(MissingBarrier, "// READ")));
    }

    [Test]
    public void WithTheBarrierTheSameKernelPasses()
    {
        string fixedText = MissingBarrier.Replace("// BUG: no bar.sync here", "bar.sync 0;");
        ulong d = Alloc<float>(64);
        var f = Load(fixedText, "rotate");
        Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d));
        var got = Download<float>(d, 64);
        for (int i = 0; i < 64; i++) Assert.That(got[i], Is.EqualTo((float)((i + 1) % 64)));
    }

    private const string DivergentShuffle = Kernels.Header + """
        .visible .entry divshfl(.param .u64 out_ptr)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<4>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %laneid;
            mov.u32 %r2, %r1;
            setp.lt.u32 %p1, %r1, 16;
            @!%p1 bra $L__skip;
            shfl.sync.down.b32 %r2, %r1, 1, 0x1f, 0xffffffff;   // SHFL
        $L__skip:
            mul.wide.u32 %rd2, %r1, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.u32 [%rd3], %r2;
            ret;
        }
        """;

    [Test]
    public void ShuffleInsideDivergentBranch()
    {
        ulong d = Alloc<uint>(32);
        var f = Load(DivergentShuffle, "divshfl");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 32u, new KernelParameterBuffer().Add(d)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.WarpSyncDivergence));
        Assert.That(e.Line, Is.EqualTo(LineOf(DivergentShuffle, "// SHFL")));
        Assert.That(e.Detail, Does.Contain("lane 16"));
    }

    [Test]
    public void ShuffleReadingALaneOutsideTheMaskFails()
    {
        string bad = DivergentShuffle.Replace("0x1f, 0xffffffff;   // SHFL", "0x1f, 0x0000ffff;   // SHFL");
        ulong d = Alloc<uint>(32);
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(bad, "divshfl"), 1u, 32u, new KernelParameterBuffer().Add(d)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.WarpSyncDivergence));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(15, 0, 0)));
        Assert.That(e.Detail, Does.Contain("reads lane 16"));
    }

    [Test]
    public void ShuffleWithTheMatchingMaskInsideTheBranchPasses()
    {
        // A 16-lane segment (c = 0x100f): lane 15's source is outside its segment, so it keeps its value.
        string ok = DivergentShuffle.Replace("0x1f, 0xffffffff;   // SHFL", "0x100f, 0x0000ffff;   // SHFL");
        ulong d = Alloc<uint>(32);
        Launch(Load(ok, "divshfl"), 1u, 32u, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, 32);
        for (uint i = 0; i < 32; i++) Assert.That(got[i], Is.EqualTo(i < 15 ? i + 1 : i));
    }

    private const string BarrierInBranch = Kernels.Header + """
        .visible .entry skipbar(.param .u64 out_ptr)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<4>;
            mov.u32 %r1, %tid.x;
            setp.lt.u32 %p1, %r1, 40;
            @!%p1 bra $L__skip;
            bar.sync 0;                     // BAR
        $L__skip:
            ret;
        }
        """;

    [Test]
    public void BarrierInsideBranchSomeThreadsSkip()
    {
        var f = Load(BarrierInBranch, "skipbar");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 64u, new KernelParameterBuffer().Add(0UL)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.BarrierDivergence));
        Assert.That(e.Line, Is.EqualTo(LineOf(BarrierInBranch, "// BAR")));
    }

    private const string MisalignedVector = Kernels.Header + """
        .visible .entry misaligned(.param .u64 in_ptr, .param .u64 out_ptr)
        {
            .reg .f32 %f<5>;
            .reg .b64 %rd<3>;
            ld.param.u64 %rd1, [in_ptr];
            ld.param.u64 %rd2, [out_ptr];
            ld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%rd1+4];   // LOAD
            st.global.v4.f32 [%rd2], {%f1, %f2, %f3, %f4};
            ret;
        }
        """;

    [Test]
    public void MisalignedVectorLoad()
    {
        ulong a = Upload(new float[16]), b = Alloc<float>(16);
        var f = Load(MisalignedVector, "misaligned");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 1u, new KernelParameterBuffer().Add(a).Add(b)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.MisalignedAddress));
        Assert.That(e.Line, Is.EqualTo(LineOf(MisalignedVector, "// LOAD")));
        Assert.That(e.Error, Is.EqualTo(CudaError.MisalignedAddress));
    }

    [Test]
    public void AlignedVectorLoadCopies()
    {
        var data = RandomFloats(8, 9);
        ulong a = Upload(data), b = Alloc<float>(4);
        Launch(Load(MisalignedVector.Replace("[%rd1+4]", "[%rd1+16]"), "misaligned"), 1u, 1u, new KernelParameterBuffer().Add(a).Add(b));
        Assert.That(Download<float>(b, 4), Is.EqualTo(data[4..8]));
    }

    private const string UninitializedRead = Kernels.Header + """
        .visible .entry uninit(.param .u64 out_ptr)
        {
            .reg .f32 %f<4>;
            .reg .b64 %rd<2>;
            ld.param.u64 %rd1, [out_ptr];
            mov.f32 %f1, 0f3F800000;
            add.rn.f32 %f2, %f1, %f3;       // UNINIT
            st.global.f32 [%rd1], %f2;
            ret;
        }
        """;

    [Test]
    public void UninitializedRegisterRead()
    {
        ulong d = Alloc<float>(1);
        var f = Load(UninitializedRead, "uninit");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 1u, new KernelParameterBuffer().Add(d)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.UninitializedRegister));
        Assert.That(e.Line, Is.EqualTo(LineOf(UninitializedRead, "// UNINIT")));
        Assert.That(e.Detail, Does.Contain("%f3"));
    }

    [Test]
    public void SharedOutOfBounds()
    {
        string text = Kernels.Header + """
            .visible .entry soob()
            {
                .shared .align 4 .b8 buf[64];
                .reg .b32 %r<3>;
                mov.u32 %r1, %tid.x;
                shl.b32 %r2, %r1, 2;
                st.shared.u32 [%r2+4], %r1;     // SOOB
                ret;
            }
            """;
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(text, "soob"), 1u, 16u, new KernelParameterBuffer()))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.SharedOutOfBounds));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, "// SOOB")));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(15, 0, 0)));
    }

    [Test]
    public void LaunchShapeBeyondLimits()
    {
        var f = Load(Kernels.VectorAdd, "vadd");
        var args = new KernelParameterBuffer().Add(0UL).Add(0UL).Add(0UL).Add(0u);
        foreach (var (grid, block) in new (Dim3, Dim3)[]
                 {
                     (new Dim3(1), new Dim3(1025)), (new Dim3(1), new Dim3(32, 32, 2)), (new Dim3(1), new Dim3(1, 1, 65)),
                     (new Dim3(1, 65536), new Dim3(32)), (new Dim3(0), new Dim3(32)),
                 })
        {
            var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, grid, block, args))!;
            Assert.That(e.Check, Is.EqualTo(EmulatorCheck.InvalidLaunchShape), $"{grid} x {block}");
        }
        var shared = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 32u, args, dynamicShared: 48 * 1024 + 1))!;
        Assert.That(shared.Check, Is.EqualTo(EmulatorCheck.InvalidLaunchShape));
        Assert.That(shared.Message, Does.Contain("49153"));
    }

    [Test]
    public void MaxNtidIsEnforced()
    {
        var f = Load(Kernels.Map2D, "map2d");
        var e = Assert.Throws<EmulatorCheckException>(() =>
            Launch(f, 1u, new Dim3(16, 32), new KernelParameterBuffer().Add(0UL).Add(0UL).Add(0u).Add(0u)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.InvalidLaunchShape));
        Assert.That(e.Detail, Does.Contain(".maxntid"));
    }

    [Test]
    public void ParameterBufferSizeMismatch()
    {
        var f = Load(Kernels.VectorAdd, "vadd");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 32u, new KernelParameterBuffer().Add(0UL).Add(0UL).Add(0UL)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.ParameterSizeMismatch));
        Assert.That(e.Detail, Does.Contain("24 bytes").And.Contain("takes 28"));
    }

    [Test]
    public void EndlessLoopHitsTheInstructionWatchdog()
    {
        string text = Kernels.Header + """
            .visible .entry spin()
            {
            $L__top:
                bra.uni $L__top;    // SPIN
            }
            """;
        Driver.MaxInstructionsPerBlock = 100_000;
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(text, "spin"), 2u, 64u, new KernelParameterBuffer()))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.InstructionLimitExceeded));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, "// SPIN")));
        Assert.That(e.Block, Is.EqualTo(new Dim3(0, 0, 0)), "the lowest failing block is reported");
    }

    [Test]
    public void PlainReadOfAnotherThreadsAtomicTargetIsARace()
    {
        string text = Kernels.Header + """
            .visible .entry mixed()
            {
                .shared .align 4 .u32 counter;
                .reg .pred %p<2>;
                .reg .b32 %r<4>;
                // Thread 0 clears the counter first (an atomic on never-written shared memory is itself reported).
                mov.u32 %r3, %tid.x;
                setp.eq.u32 %p1, %r3, 0;
                @%p1 st.shared.u32 [counter], 0;
                bar.sync 0;
                atom.shared.add.u32 %r1, [counter], 1;
                ld.shared.u32 %r2, [counter];     // MIXED
                ret;
            }
            """;
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(text, "mixed"), 1u, 2u, new KernelParameterBuffer()))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.SharedRace));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, "// MIXED")));
        // The same kernel with a barrier between is fine, and atomics alone never race.
        Launch(Load(text.Replace("ld.shared.u32 %r2, [counter];     // MIXED", "bar.sync 0;\n    ld.shared.u32 %r2, [counter];"), "mixed"), 1u, 64u, new KernelParameterBuffer());
        Launch(Load(text.Replace("ld.shared.u32 %r2, [counter];     // MIXED", "atom.shared.add.u32 %r2, [counter], 1;"), "mixed"), 1u, 64u, new KernelParameterBuffer());
    }

    [Test]
    public void DivergentBraUniIsReported()
    {
        string text = Kernels.Header + """
            .visible .entry notuni()
            {
                .reg .pred %p<2>;
                .reg .b32 %r<2>;
                mov.u32 %r1, %laneid;
                setp.lt.u32 %p1, %r1, 5;
                @%p1 bra.uni $L__end;    // UNI
            $L__end:
                ret;
            }
            """;
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(text, "notuni"), 1u, 32u, new KernelParameterBuffer()))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.DivergentUniformBranch));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, "// UNI")));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(5, 0, 0)));
    }

    private const string WarpExchange = Kernels.Header + """
        .visible .entry wx(.param .u64 out_ptr, .param .u32 partner_xor)
        {
            .shared .align 4 .b32 buf[64];
            .reg .b32 %r<8>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            ld.param.u32 %r7, [partner_xor];
            mov.u32 %r1, %tid.x;
            shl.b32 %r2, %r1, 2;
            mov.u32 %r3, buf;
            add.u32 %r4, %r3, %r2;
            st.shared.u32 [%r4], %r1;   // STORE
            SYNC
            xor.b32 %r5, %r1, %r7;
            shl.b32 %r5, %r5, 2;
            add.u32 %r5, %r3, %r5;
            ld.shared.u32 %r6, [%r5];   // EXCHANGE
            mul.wide.u32 %rd2, %r1, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.u32 [%rd3], %r6;
            ret;
        }
        """;

    // Within a warp, the read after the missing sync is the second access; across warps warp 0 runs
    // first, so its read of warp 1's slot comes before warp 1's store, and the store is reported.
    [TestCase("", 1u, "// EXCHANGE")]
    [TestCase("bar.warp.sync -1;", 1u, null)]
    [TestCase("bar.warp.sync -1;", 32u, "// STORE")]
    [TestCase("bar.sync 0;", 32u, null)]
    public void WarpSyncOrdersSharedAccessesOnlyWithinTheWarp(string sync, uint partnerXor, string? raceAt)
    {
        string text = WarpExchange.Replace("SYNC", sync);
        ulong d = Alloc<uint>(64);
        var f = Load(text, "wx");
        var args = new KernelParameterBuffer().Add(d).Add(partnerXor);
        if (raceAt != null)
        {
            var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 64u, args))!;
            Assert.That(e.Check, Is.EqualTo(EmulatorCheck.SharedRace));
            Assert.That(e.Line, Is.EqualTo(LineOf(text, raceAt)));
            return;
        }
        Launch(f, 1u, 64u, args);
        var got = Download<uint>(d, 64);
        for (uint t = 0; t < 64; t++) Assert.That(got[t], Is.EqualTo(t ^ partnerXor));
    }

    [Test]
    public void WarpSyncInsideDivergentCodeIsReported()
    {
        string text = Kernels.Header + """
            .visible .entry wsd()
            {
                .reg .pred %p<2>;
                .reg .b32 %r<2>;
                mov.u32 %r1, %laneid;
                setp.lt.u32 %p1, %r1, 8;
                @%p1 bra $L__end;
                bar.warp.sync 0xffffffff;    // WSYNC
            $L__end:
                ret;
            }
            """;
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(text, "wsd"), 1u, 32u, new KernelParameterBuffer()))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.WarpSyncDivergence));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, "// WSYNC")));
    }
}
