namespace Benchmarks.Emulator;

/// <summary>
/// Copies of two kernels from Framework.Tests/Emulator/Kernels.cs (the benchmark project does not
/// reference the test project), so the measured code is the tested code.
/// </summary>
internal static class BenchmarkKernels
{
    private const string Header = ".version 7.0\n.target sm_70\n.address_size 64\n\n";

    /// <summary>Grid-stride vector add.</summary>
    public const string VectorAdd = Header + """
        .visible .entry vadd(
            .param .u64 vadd_param_0,
            .param .u64 vadd_param_1,
            .param .u64 vadd_param_2,
            .param .u32 vadd_param_3
        )
        {
            .reg .pred %p<3>;
            .reg .b32 %r<10>;
            .reg .f32 %f<4>;
            .reg .b64 %rd<12>;

            ld.param.u64 %rd1, [vadd_param_0];
            ld.param.u64 %rd2, [vadd_param_1];
            ld.param.u64 %rd3, [vadd_param_2];
            ld.param.u32 %r2, [vadd_param_3];
            cvta.to.global.u64 %rd4, %rd1;
            cvta.to.global.u64 %rd5, %rd2;
            cvta.to.global.u64 %rd6, %rd3;
            mov.u32 %r3, %ntid.x;
            mov.u32 %r4, %ctaid.x;
            mov.u32 %r5, %tid.x;
            mad.lo.s32 %r1, %r4, %r3, %r5;
            mov.u32 %r6, %nctaid.x;
            mul.lo.s32 %r7, %r6, %r3;
            setp.ge.u32 %p1, %r1, %r2;
            @%p1 bra $L__done;
        $L__loop:
            mul.wide.u32 %rd7, %r1, 4;
            add.s64 %rd8, %rd4, %rd7;
            ld.global.f32 %f1, [%rd8];
            add.s64 %rd9, %rd5, %rd7;
            ld.global.nc.f32 %f2, [%rd9];
            add.rn.f32 %f3, %f1, %f2;
            add.s64 %rd10, %rd6, %rd7;
            st.global.f32 [%rd10], %f3;
            add.s32 %r1, %r1, %r7;
            setp.lt.u32 %p2, %r1, %r2;
            @%p2 bra $L__loop;
        $L__done:
            ret;
        }
        """;

    /// <summary>Block reduction through dynamic shared memory.</summary>
    public const string BlockSum = Header + """
        .extern .shared .align 4 .b8 sdata[];

        .visible .entry block_sum(.param .u64 in_ptr, .param .u64 out_ptr, .param .u32 n)
        {
            .reg .pred %p<3>;
            .reg .b32 %r<12>;
            .reg .f32 %f<4>;
            .reg .b64 %rd<10>;

            ld.param.u64 %rd1, [in_ptr];
            ld.param.u64 %rd2, [out_ptr];
            ld.param.u32 %r1, [n];
            cvta.to.global.u64 %rd1, %rd1;
            cvta.to.global.u64 %rd2, %rd2;
            mov.u32 %r2, %ctaid.x;
            mov.u32 %r3, %ntid.x;
            mov.u32 %r4, %tid.x;
            mad.lo.s32 %r5, %r2, %r3, %r4;
            mov.f32 %f1, 0f00000000;
            setp.lt.u32 %p1, %r5, %r1;
            mul.wide.u32 %rd3, %r5, 4;
            add.s64 %rd4, %rd1, %rd3;
            @%p1 ld.global.f32 %f1, [%rd4];
            mov.u64 %rd5, sdata;
            mul.wide.u32 %rd6, %r4, 4;
            add.s64 %rd7, %rd5, %rd6;
            st.shared.f32 [%rd7], %f1;
            bar.sync 0;
            shr.u32 %r6, %r3, 1;
        $L__loop:
            setp.eq.u32 %p1, %r6, 0;
            @%p1 bra $L__done;
            setp.ge.u32 %p2, %r4, %r6;
            @%p2 bra $L__skip;
            mul.wide.u32 %rd8, %r6, 4;
            add.s64 %rd9, %rd7, %rd8;
            ld.shared.f32 %f2, [%rd9];
            ld.shared.f32 %f3, [%rd7];
            add.rn.f32 %f3, %f3, %f2;
            st.shared.f32 [%rd7], %f3;
        $L__skip:
            barrier.sync 0;
            shr.u32 %r6, %r6, 1;
            bra.uni $L__loop;
        $L__done:
            setp.ne.u32 %p1, %r4, 0;
            @%p1 bra $L__end;
            ld.shared.f32 %f1, [sdata];
            mul.wide.u32 %rd8, %r2, 4;
            add.s64 %rd9, %rd2, %rd8;
            st.global.f32 [%rd9], %f1;
        $L__end:
            ret;
        }
        """;
}
