using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>shfl modes with segments, vote, every atomic operation, generic and local addressing.</summary>
public class WarpAndAtomicTests : EmulatorTestBase
{
    private const string ShflKernel = Kernels.Header + """
        .visible .entry shfl_modes(.param .u64 out_ptr)
        {
            .reg .pred %p<8>;
            .reg .b32 %r<20>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %laneid;
            mul.lo.u32 %r2, %r1, 10;
            shfl.sync.up.b32 %r3|%p1, %r2, 3, 0x1800, 0xffffffff;
            shfl.sync.down.b32 %r4|%p2, %r2, 2, 0x181f, 0xffffffff;
            shfl.sync.bfly.b32 %r5|%p3, %r2, 5, 0x1f, 0xffffffff;
            shfl.sync.idx.b32 %r6|%p4, %r2, 13, 0x181f, 0xffffffff;
            selp.u32 %r7, 1, 0, %p1;
            selp.u32 %r8, 2, 0, %p2;
            selp.u32 %r9, 4, 0, %p3;
            selp.u32 %r10, 8, 0, %p4;
            or.b32 %r7, %r7, %r8;
            or.b32 %r7, %r7, %r9;
            or.b32 %r7, %r7, %r10;
            and.b32 %r11, %r1, 3;
            setp.eq.u32 %p5, %r11, 0;
            vote.sync.ballot.b32 %r12, %p5, 0xffffffff;
            setp.lt.u32 %p6, %r1, 32;
            vote.sync.all.pred %p7, %p6, 0xffffffff;
            selp.u32 %r13, 1, 0, %p7;
            vote.sync.any.pred %p7, !%p6, 0xffffffff;
            selp.u32 %r14, 1, 0, %p7;
            mul.wide.u32 %rd2, %r1, 32;
            add.s64 %rd3, %rd1, %rd2;
            st.global.v4.u32 [%rd3], {%r3, %r4, %r5, %r6};
            st.global.v4.u32 [%rd3+16], {%r7, %r12, %r13, %r14};
            ret;
        }
        """;

    [Test]
    public void ShuffleModesWithSegmentsAndVote()
    {
        ulong d = Alloc<uint>(32 * 8);
        Launch(Load(ShflKernel, "shfl_modes"), 1u, 32u, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, 32 * 8);
        // CUDA's width-8 shuffles: up uses c = (32-8)<<8, down/idx c = ((32-8)<<8) | 0x1f.
        for (int lane = 0; lane < 32; lane++)
        {
            int seg = lane & ~7;
            int up = lane - 3 >= seg ? lane - 3 : lane;
            int down = lane + 2 <= seg + 7 ? lane + 2 : lane;
            int bfly = lane ^ 5;
            int idx = seg + (13 & 7);
            uint flags = (uint)((lane - 3 >= seg ? 1 : 0) | (lane + 2 <= seg + 7 ? 2 : 0) | 4 | 8);
            var expected = new uint[] { (uint)up * 10, (uint)down * 10, (uint)bfly * 10, (uint)idx * 10, flags, 0x11111111u, 1, 0 };
            Assert.That(got[(8 * lane)..(8 * lane + 8)], Is.EqualTo(expected), $"lane {lane}");
        }
    }

    private const string AtomKernel = Kernels.Header + """
        .visible .entry atoms(.param .u64 out_ptr)
        {
            .shared .align 8 .b8 counters[16];
            .reg .pred %p<3>;
            .reg .b32 %r<20>;
            .reg .f64 %fd<3>;
            .reg .b64 %rd<6>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %tid.x;
            setp.eq.u32 %p1, %r1, 0;
            @!%p1 bra $L__zeroed;
            st.shared.u32 [counters], 0;
            st.shared.u32 [counters+4], 0;
        $L__zeroed:
            bar.sync 0;
            atom.shared.add.u32 %r2, [counters], 1;
            red.shared.add.u32 [counters+4], %r1;
            atom.global.inc.u32 %r3, [%rd1], 9;
            atom.global.dec.u32 %r4, [%rd1+4], 100;
            sub.s32 %r5, 100, %r1;
            atom.global.min.s32 %r6, [%rd1+8], %r5;
            atom.global.max.u32 %r7, [%rd1+12], %r1;
            shl.b32 %r8, 1, %r1;
            atom.global.or.b32 %r9, [%rd1+16], %r8;
            atom.global.xor.b32 %r10, [%rd1+20], %r8;
            not.b32 %r11, %r8;
            atom.global.and.b32 %r12, [%rd1+24], %r11;
            atom.global.exch.b32 %r13, [%rd1+28], %r1;
            atom.global.cas.b32 %r14, [%rd1+32], 0, 77;
            cvt.rn.f64.u32 %fd1, %r1;
            atom.global.add.f64 %fd2, [%rd1+40], %fd1;
            bar.sync 0;
            @!%p1 bra $L__end;
            ld.shared.u32 %r15, [counters];
            ld.shared.u32 %r16, [counters+4];
            st.global.v2.u32 [%rd1+48], {%r15, %r16};
        $L__end:
            ret;
        }
        """;

    [Test]
    public void EveryAtomicOperation()
    {
        const int threads = 24;
        var init = new uint[14];
        init[1] = 5;            // dec wraps to 100 after reaching 0
        init[2] = 1000;         // min
        init[6] = 0xFFFFFFFF;   // and
        init[7] = 12345;        // exch
        ulong d = Upload(init);
        Launch(Load(AtomKernel, "atoms"), 1u, (uint)threads, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, 14);
        Assert.That(got[0], Is.EqualTo((uint)(threads % 10)), "inc wraps at 9");
        // dec from 5, 24 times: 5,4,3,2,1,0 -> 100, then 99... : 24 - 6 = 18 more steps below 100.
        Assert.That(got[1], Is.EqualTo(100u - 18u), "dec");
        Assert.That((int)got[2], Is.EqualTo(100 - (threads - 1)), "min");
        Assert.That(got[3], Is.EqualTo((uint)threads - 1), "max");
        Assert.That(got[4], Is.EqualTo((1u << threads) - 1), "or");
        Assert.That(got[5], Is.EqualTo((1u << threads) - 1), "xor");
        Assert.That(got[6], Is.EqualTo(~((1u << threads) - 1)), "and");
        Assert.That(got[7], Is.LessThan((uint)threads), "exch stores some thread's index");
        Assert.That(got[8], Is.EqualTo(77u), "cas");
        Assert.That(BitConverter.UInt64BitsToDouble(got[10] | ((ulong)got[11] << 32)), Is.EqualTo(threads * (threads - 1) / 2.0), "add.f64");
        Assert.That(got[12], Is.EqualTo((uint)threads), "shared atom.add");
        Assert.That(got[13], Is.EqualTo((uint)(threads * (threads - 1) / 2)), "shared red.add");
        Assert.That(Driver.LastLaunch.AtomicOperations, Is.EqualTo(12L * threads));
    }

    private const string GenericKernel = Kernels.Header + """
        .visible .entry generic(.param .u64 out_ptr)
        {
            .shared .align 4 .b32 sbuf[32];
            .local .align 4 .b32 lbuf[4];
            .reg .b32 %r<8>;
            .reg .b64 %rd<12>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %tid.x;
            mov.u64 %rd2, sbuf;
            cvta.shared.u64 %rd3, %rd2;
            mul.wide.u32 %rd4, %r1, 4;
            add.s64 %rd5, %rd3, %rd4;
            st.u32 [%rd5], %r1;
            bar.sync 0;
            xor.b32 %r2, %r1, 1;
            mul.wide.u32 %rd6, %r2, 4;
            add.s64 %rd7, %rd3, %rd6;
            ld.u32 %r3, [%rd7];
            cvta.local.u64 %rd8, lbuf;
            mul.lo.u32 %r4, %r1, 3;
            st.u32 [%rd8+8], %r4;
            ld.local.u32 %r5, [lbuf+8];
            cvta.to.shared.u64 %rd9, %rd5;
            ld.shared.u32 %r6, [%rd9];
            add.s64 %rd10, %rd1, %rd4;
            cvta.global.u64 %rd11, %rd10;
            add.u32 %r7, %r3, %r5;
            add.u32 %r7, %r7, %r6;
            st.u32 [%rd11], %r7;
            ret;
        }
        """;

    [Test]
    public void GenericAddressesResolveToSharedLocalAndGlobal()
    {
        ulong d = Alloc<uint>(32);
        Launch(Load(GenericKernel, "generic"), 1u, 32u, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, 32);
        for (uint t = 0; t < 32; t++) Assert.That(got[t], Is.EqualTo((t ^ 1) + 3 * t + t), $"thread {t}");
    }

    [Test]
    public void GenericAccessOutsideEverythingIsGlobalOutOfBounds()
    {
        string text = Kernels.Header + """
            .visible .entry wild()
            {
                .reg .b32 %r<2>;
                .reg .b64 %rd<2>;
                mov.u64 %rd1, 4096;
                ld.u32 %r1, [%rd1];   // WILD
                ret;
            }
            """;
        var e = Assert.Throws<Cuda.Emulator.EmulatorCheckException>(() => Launch(Load(text, "wild"), 1u, 1u, new KernelParameterBuffer()))!;
        Assert.That(e.Check, Is.EqualTo(Cuda.Emulator.EmulatorCheck.GlobalOutOfBounds));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, "// WILD")));
    }

    [Test]
    public void UseAfterFreeIsOutOfBounds()
    {
        ulong a = Upload(new float[32]), b = Upload(new float[32]), c = Alloc<float>(32);
        Driver.Free(b);
        var f = Load(Kernels.VectorAdd, "vadd");
        var e = Assert.Throws<Cuda.Emulator.EmulatorCheckException>(() =>
            Launch(f, 1u, 32u, new KernelParameterBuffer().Add(a).Add(b).Add(c).Add(32u)))!;
        Assert.That(e.Check, Is.EqualTo(Cuda.Emulator.EmulatorCheck.GlobalOutOfBounds));
    }

    [TestCase("mov.u64 %rd1, 0xFFFFFFFFFFFFFFF0;\n    ld.v4.f32 {%f1, %f2, %f3, %f4}, [%rd1];", "GlobalOutOfBounds")]
    [TestCase("ld.param.u64 %rd1, [p];\n    ld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%rd1];", "GlobalOutOfBounds")]
    [TestCase("ld.param.u64 %rd1, [p];\n    cvta.to.shared.u64 %rd1, %rd1;\n    ld.shared.f32 %f1, [%rd1];", "SharedOutOfBounds")]
    [TestCase("mov.u64 %rd1, 0xFFFFFFFFFFFFFFFC;\n    ld.shared.f32 %f1, [%rd1];", "SharedOutOfBounds")]
    [TestCase("mov.u64 %rd1, 0xFFFFFFFFFFFFFFFC;\n    ld.local.f32 %f1, [%rd1];", "LocalOutOfBounds")]
    public void WrappingAndOversizedAccessesAreCaught(string body, string check)
    {
        string text = Kernels.Header + """
            .visible .entry edge(.param .u64 p)
            {
                .shared .align 16 .b8 s[16];
                .local .align 4 .b8 l[8];
                .reg .f32 %f<5>;
                .reg .b64 %rd<2>;
                BODY
                ret;
            }
            """.Replace("BODY", body);
        ulong tiny = Driver.Allocate(4);
        var e = Assert.Throws<Cuda.Emulator.EmulatorCheckException>(() => Launch(Load(text, "edge"), 1u, 1u, new KernelParameterBuffer().Add(tiny)))!;
        Assert.That(e.Check.ToString(), Is.EqualTo(check));
    }

    [Test]
    public void ThreeDimensionalIndicesAreLaidOutXFastest()
    {
        string text = Kernels.Header + """
            .visible .entry ids(.param .u64 out_ptr)
            {
                .reg .b32 %r<16>;
                .reg .b64 %rd<4>;
                ld.param.u64 %rd1, [out_ptr];
                mov.u32 %r1, %tid.x;
                mov.u32 %r2, %tid.y;
                mov.u32 %r3, %tid.z;
                mov.u32 %r4, %ntid.x;
                mov.u32 %r5, %ntid.y;
                mov.u32 %r6, %ctaid.x;
                mov.u32 %r7, %ctaid.y;
                mov.u32 %r8, %ctaid.z;
                mov.u32 %r9, %nctaid.x;
                mov.u32 %r10, %nctaid.y;
                mad.lo.u32 %r11, %r8, %r10, %r7;
                mad.lo.u32 %r11, %r11, %r9, %r6;
                mov.u32 %r12, %ntid.z;
                mul.lo.u32 %r13, %r4, %r5;
                mul.lo.u32 %r13, %r13, %r12;
                mad.lo.u32 %r14, %r3, %r5, %r2;
                mad.lo.u32 %r14, %r14, %r4, %r1;
                mad.lo.u32 %r15, %r11, %r13, %r14;
                shl.b32 %r12, %r8, 24;
                shl.b32 %r13, %r7, 16;
                or.b32 %r12, %r12, %r13;
                shl.b32 %r13, %r6, 8;
                or.b32 %r12, %r12, %r13;
                or.b32 %r12, %r12, %r14;
                mul.wide.u32 %rd2, %r15, 4;
                add.s64 %rd3, %rd1, %rd2;
                st.global.u32 [%rd3], %r12;
                ret;
            }
            """;
        var grid = new Dim3(2, 3, 2);
        var block = new Dim3(5, 3, 4);
        int total = (int)(grid.Volume * block.Volume);
        ulong d = Alloc<uint>(total);
        Launch(Load(text, "ids"), grid, block, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, total);
        int k = 0;
        for (uint bz = 0; bz < 2; bz++)
            for (uint by = 0; by < 3; by++)
                for (uint bx = 0; bx < 2; bx++)
                    for (uint t = 0; t < 60; t++, k++)
                        Assert.That(got[k], Is.EqualTo((bz << 24) | (by << 16) | (bx << 8) | t), $"block ({bx},{by},{bz}) thread {t}");
    }
}
