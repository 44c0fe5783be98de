namespace Framework.Tests.Emulator;

/// <summary>Handwritten PTX test kernels (the style the project's kernels use).</summary>
internal static class Kernels
{
    public const string Header = """
        .version 7.0
        .target sm_70
        .address_size 64

        """;

    /// <summary>c[i] = a[i] + b[i] with a grid-stride loop.</summary>
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

    /// <summary>out[warp] = sum of in over the warp's 32 elements (zero past n), by shfl.sync.bfly.</summary>
    public const string WarpSum = Header + """
        .visible .entry warp_sum(.param .u64 in_ptr, .param .u64 out_ptr, .param .u32 n)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<8>;
            .reg .f32 %f<8>;
            .reg .b64 %rd<8>;

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
            shfl.sync.bfly.b32 %f2, %f1, 16, 0x1f, 0xffffffff;
            add.rn.f32 %f1, %f1, %f2;
            shfl.sync.bfly.b32 %f2, %f1, 8, 0x1f, 0xffffffff;
            add.rn.f32 %f1, %f1, %f2;
            shfl.sync.bfly.b32 %f2, %f1, 4, 0x1f, 0xffffffff;
            add.rn.f32 %f1, %f1, %f2;
            shfl.sync.bfly.b32 %f2, %f1, 2, 0x1f, 0xffffffff;
            add.rn.f32 %f1, %f1, %f2;
            shfl.sync.bfly.b32 %f2, %f1, 1, 0x1f, 0xffffffff;
            add.rn.f32 %f1, %f1, %f2;
            mov.u32 %r6, %laneid;
            setp.ne.u32 %p1, %r6, 0;
            @%p1 bra $L__end;
            shr.u32 %r7, %r5, 5;
            mul.wide.u32 %rd5, %r7, 4;
            add.s64 %rd6, %rd2, %rd5;
            st.global.f32 [%rd6], %f1;
        $L__end:
            ret;
        }
        """;

    /// <summary>out[block] = sum of the block's elements, tree reduction in dynamic shared memory.</summary>
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

    /// <summary>hist[bin(x)] += w with atom.global.add.f32; counts[bin] += 1 with red.global.add.u32.</summary>
    public const string Histogram = Header + """
        .visible .entry histogram(.param .u64 x_ptr, .param .u64 w_ptr, .param .u64 hist_ptr,
                                  .param .u64 count_ptr, .param .u32 n, .param .u32 bins)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<10>;
            .reg .f32 %f<6>;
            .reg .b64 %rd<12>;

            ld.param.u64 %rd1, [x_ptr];
            ld.param.u64 %rd2, [w_ptr];
            ld.param.u64 %rd3, [hist_ptr];
            ld.param.u64 %rd4, [count_ptr];
            ld.param.u32 %r1, [n];
            ld.param.u32 %r2, [bins];
            mov.u32 %r3, %ctaid.x;
            mov.u32 %r4, %ntid.x;
            mov.u32 %r5, %tid.x;
            mad.lo.s32 %r6, %r3, %r4, %r5;
            setp.ge.u32 %p1, %r6, %r1;
            @%p1 ret;
            mul.wide.u32 %rd5, %r6, 4;
            add.s64 %rd6, %rd1, %rd5;
            ld.global.f32 %f1, [%rd6];
            add.s64 %rd7, %rd2, %rd5;
            ld.global.f32 %f2, [%rd7];
            cvt.rn.f32.u32 %f3, %r2;
            mul.rn.f32 %f4, %f1, %f3;
            cvt.rzi.sat.u32.f32 %r7, %f4;
            sub.s32 %r8, %r2, 1;
            min.u32 %r7, %r7, %r8;
            mul.wide.u32 %rd8, %r7, 4;
            add.s64 %rd9, %rd3, %rd8;
            atom.global.add.f32 %f5, [%rd9], %f2;
            add.s64 %rd10, %rd4, %rd8;
            red.global.add.u32 [%rd10], 1;
            ret;
        }
        """;

    /// <summary>2D: out[y*w + x] = in[y*w + x] * 2 + x - y for x &lt; w, y &lt; h.</summary>
    public const string Map2D = Header + """
        .visible .entry map2d(.param .u64 in_ptr, .param .u64 out_ptr, .param .u32 w, .param .u32 h)
        .maxntid 256, 1, 1
        {
            .reg .pred %p<3>;
            .reg .b32 %r<16>;
            .reg .f32 %f<6>;
            .reg .b64 %rd<8>;

            ld.param.u64 %rd1, [in_ptr];
            ld.param.u64 %rd2, [out_ptr];
            ld.param.u32 %r1, [w];
            ld.param.u32 %r2, [h];
            mov.u32 %r3, %ctaid.x;
            mov.u32 %r4, %ntid.x;
            mov.u32 %r5, %tid.x;
            mad.lo.s32 %r6, %r3, %r4, %r5;
            mov.u32 %r7, %ctaid.y;
            mov.u32 %r8, %ntid.y;
            mov.u32 %r9, %tid.y;
            mad.lo.s32 %r10, %r7, %r8, %r9;
            setp.lt.u32 %p1, %r6, %r1;
            setp.lt.and.u32 %p2, %r10, %r2, %p1;
            @!%p2 bra $L__end;
            mad.lo.s32 %r11, %r10, %r1, %r6;
            mul.wide.u32 %rd3, %r11, 4;
            add.s64 %rd4, %rd1, %rd3;
            ld.global.f32 %f1, [%rd4];
            add.rn.f32 %f2, %f1, %f1;
            sub.s32 %r12, %r6, %r10;
            cvt.rn.f32.s32 %f3, %r12;
            add.rn.f32 %f4, %f2, %f3;
            add.s64 %rd5, %rd2, %rd3;
            st.global.f32 [%rd5], %f4;
        $L__end:
            ret;
        }
        """;

    /// <summary>
    /// Divergence and reconvergence: odd elements take one path, even another; then each lane loops a
    /// data-dependent number of times; after both joins the whole warp adds its neighbour with shfl.down.
    /// </summary>
    public const string Diverge = Header + """
        .visible .entry diverge(.param .u64 in_ptr, .param .u64 out_ptr)
        {
            .reg .pred %p<4>;
            .reg .b32 %r<12>;
            .reg .f32 %f<8>;
            .reg .b64 %rd<8>;

            ld.param.u64 %rd1, [in_ptr];
            ld.param.u64 %rd2, [out_ptr];
            mov.u32 %r1, %ctaid.x;
            mov.u32 %r2, %ntid.x;
            mov.u32 %r3, %tid.x;
            mad.lo.s32 %r4, %r1, %r2, %r3;
            mul.wide.u32 %rd3, %r4, 4;
            add.s64 %rd4, %rd1, %rd3;
            ld.global.f32 %f1, [%rd4];
            and.b32 %r5, %r4, 1;
            setp.eq.u32 %p1, %r5, 1;
            @%p1 bra $L__odd;
            add.rn.f32 %f2, %f1, 0f3F800000;
            bra.uni $L__join;
        $L__odd:
            mul.rn.f32 %f2, %f1, 0f40400000;
        $L__join:
            rem.u32 %r6, %r4, 7;
            mov.u32 %r7, 0;
        $L__loop:
            setp.ge.u32 %p2, %r7, %r6;
            @%p2 bra $L__after;
            add.rn.f32 %f2, %f2, 0f3F000000;
            add.u32 %r7, %r7, 1;
            bra $L__loop;
        $L__after:
            shfl.sync.down.b32 %f3|%p3, %f2, 1, 0x1f, 0xffffffff;
            @%p3 add.rn.f32 %f2, %f2, %f3;
            add.s64 %rd5, %rd2, %rd3;
            st.global.f32 [%rd5], %f2;
            ret;
        }
        """;
}
