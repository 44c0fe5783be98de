using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>
/// A kernel shaped like the project's norm kernels: one block per plane, 64-bit grid-stride
/// indexing, f64 accumulation, f64 warp shuffles through mov.b64 unpack/pack, one shared slot per
/// warp, a second warp-level pass. It exercises the pieces together the way real kernels will.
/// </summary>
public class PlaneStatisticsTests : EmulatorTestBase
{
    private static string WarpReduce(string reg) => string.Concat(new[] { 16, 8, 4, 2, 1 }.Select(o => $$"""
                mov.b64 {%r4, %r5}, {{reg}};
                shfl.sync.bfly.b32 %r6, %r4, {{o}}, 31, -1;
                shfl.sync.bfly.b32 %r7, %r5, {{o}}, 31, -1;
                mov.b64 %fd4, {%r6, %r7};
                add.rn.f64 {{reg}}, {{reg}}, %fd4;

        """));

    private static readonly string PlaneStats = Kernels.Header + """
        .visible .entry plane_stats(.param .u64 x_ptr, .param .u64 mean_ptr, .param .u64 var_ptr, .param .u64 hw)
        .maxntid 1024
        {
            .shared .align 8 .f64 s_sum[32];
            .shared .align 8 .f64 s_sq[32];
            .reg .pred %p<4>;
            .reg .b32 %r<16>;
            .reg .f32 %f<2>;
            .reg .f64 %fd<12>;
            .reg .b64 %rd<16>;
            ld.param.u64 %rd1, [x_ptr];
            ld.param.u64 %rd2, [mean_ptr];
            ld.param.u64 %rd3, [var_ptr];
            ld.param.u64 %rd4, [hw];
            cvta.to.global.u64 %rd1, %rd1;
            mov.u32 %r1, %ctaid.x;
            mov.u32 %r2, %tid.x;
            mov.u32 %r3, %ntid.x;
            cvt.u64.u32 %rd5, %r1;
            mul.lo.u64 %rd6, %rd5, %rd4;
            shl.b64 %rd6, %rd6, 2;
            add.s64 %rd7, %rd1, %rd6;
            cvt.u64.u32 %rd8, %r2;
            cvt.u64.u32 %rd9, %r3;
            mov.f64 %fd1, 0d0000000000000000;
            mov.f64 %fd2, 0d0000000000000000;
        $L__loop:
            setp.ge.u64 %p1, %rd8, %rd4;
            @%p1 bra $L__reduce;
            shl.b64 %rd10, %rd8, 2;
            add.s64 %rd11, %rd7, %rd10;
            ld.global.nc.f32 %f1, [%rd11];
            cvt.f64.f32 %fd3, %f1;
            add.rn.f64 %fd1, %fd1, %fd3;
            fma.rn.f64 %fd2, %fd3, %fd3, %fd2;
            add.s64 %rd8, %rd8, %rd9;
            bra.uni $L__loop;
        $L__reduce:
        """ + WarpReduce("%fd1") + WarpReduce("%fd2") + """
            and.b32 %r8, %r2, 31;
            shr.u32 %r9, %r2, 5;
            setp.ne.u32 %p2, %r8, 0;
            @%p2 bra $L__sync;
            shl.b32 %r11, %r9, 3;
            mov.u32 %r10, s_sum;
            add.u32 %r12, %r10, %r11;
            st.shared.f64 [%r12], %fd1;
            mov.u32 %r10, s_sq;
            add.u32 %r12, %r10, %r11;
            st.shared.f64 [%r12], %fd2;
        $L__sync:
            bar.sync 0;
            setp.ne.u32 %p2, %r9, 0;
            @%p2 bra $L__end;
            add.u32 %r13, %r3, 31;
            shr.u32 %r13, %r13, 5;
            mov.f64 %fd1, 0d0000000000000000;
            mov.f64 %fd2, 0d0000000000000000;
            setp.ge.u32 %p3, %r8, %r13;
            @%p3 bra $L__final;
            shl.b32 %r11, %r8, 3;
            mov.u32 %r10, s_sum;
            add.u32 %r12, %r10, %r11;
            ld.shared.f64 %fd1, [%r12];
            mov.u32 %r10, s_sq;
            add.u32 %r12, %r10, %r11;
            ld.shared.f64 %fd2, [%r12];
        $L__final:
        """ + WarpReduce("%fd1") + WarpReduce("%fd2") + """
            setp.ne.u32 %p2, %r8, 0;
            @%p2 bra $L__end;
            cvt.rn.f64.u64 %fd5, %rd4;
            div.rn.f64 %fd6, %fd1, %fd5;
            div.rn.f64 %fd7, %fd2, %fd5;
            mul.rn.f64 %fd8, %fd6, %fd6;
            sub.rn.f64 %fd9, %fd7, %fd8;
            mul.wide.u32 %rd12, %r1, 4;
            add.s64 %rd13, %rd2, %rd12;
            cvt.rn.f32.f64 %f1, %fd6;
            st.global.f32 [%rd13], %f1;
            add.s64 %rd14, %rd3, %rd12;
            cvt.rn.f32.f64 %f1, %fd9;
            st.global.f32 [%rd14], %f1;
        $L__end:
            ret;
        }
        """;

    [TestCase(3, 1, 32)]
    [TestCase(2, 100, 64)]
    [TestCase(4, 1000, 256)]
    [TestCase(2, 4097, 1024)]
    public void MeanAndVariancePerPlane(int planes, int hw, int block)
    {
        var x = RandomFloats(planes * hw, 91, -3f, 5f);
        ulong dx = Upload(x), dm = Alloc<float>(planes), dv = Alloc<float>(planes);
        Launch(Load(PlaneStats, "plane_stats"), (uint)planes, (uint)block,
            new KernelParameterBuffer().Add(dx).Add(dm).Add(dv).Add((ulong)hw));
        var mean = Download<float>(dm, planes);
        var variance = Download<float>(dv, planes);
        for (int p = 0; p < planes; p++)
        {
            double m = 0;
            for (int i = 0; i < hw; i++) m += x[p * hw + i];
            m /= hw;
            double v = 0;
            for (int i = 0; i < hw; i++) v += (x[p * hw + i] - m) * (x[p * hw + i] - m);
            v /= hw;
            Assert.That(mean[p], Is.EqualTo(m).Within(1e-5), $"mean of plane {p}");
            Assert.That(variance[p], Is.EqualTo(v).Within(1e-4), $"variance of plane {p}");
        }
        // Traffic: every input element read exactly once; two floats written per plane.
        Assert.That(Driver.LastLaunch.GlobalBytesRead, Is.EqualTo(4L * planes * hw));
        Assert.That(Driver.LastLaunch.GlobalBytesWritten, Is.EqualTo(8L * planes));
    }
}
