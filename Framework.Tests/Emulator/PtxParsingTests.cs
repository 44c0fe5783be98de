using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>The front end: rejected forms with line, column and reason; accepted forms load.</summary>
public class PtxParsingTests : EmulatorTestBase
{
    /// <summary>A small valid kernel; tests replace the line marked BODY.</summary>
    private const string Template = Kernels.Header + """
        .visible .entry k(.param .u64 p)
        {
            .reg .pred %p<2>;
            .reg .u32 %r<4>;
            .reg .s32 %s<4>;
            .reg .b32 %b<4>;
            .reg .f32 %f<4>;
            .reg .f64 %fd<4>;
            .reg .b64 %rd<4>;
            mov.u32 %r1, 1;
            mov.f32 %f1, 0f3F800000;
            mov.f32 %f2, 0f40000000;
            mov.f64 %fd1, 0d3FF0000000000000;
            mov.f64 %fd2, 0d4000000000000000;
            mov.u32 %r2, 2;
            BODY
            ret;
        }
        """;

    private PtxParseException Reject(string text) =>
        Assert.Throws<PtxParseException>(() => Driver.LoadModule(text, "bad.ptx"))!;

    private void AssertAt(PtxParseException e, string text, string marker, string token, string reasonPart)
    {
        Assert.That(e.Line, Is.EqualTo(LineOf(text, marker)), e.Message);
        Assert.That(e.Column, Is.EqualTo(ColumnOf(text, marker, token)), e.Message);
        Assert.That(e.Reason, Does.Contain(reasonPart), e.Message);
        Assert.That(e.File, Is.EqualTo("bad.ptx"));
        Assert.That(e.Error, Is.EqualTo(CudaError.InvalidPtx));
        Assert.That(e.JitLog, Does.Contain($"bad.ptx({e.Line},{e.Column})"));
    }

    [Test]
    public void MissingVersionIsRejected()
    {
        string text = Kernels.Header.Replace(".version 7.0\n", "") + ".visible .entry k() { ret; }";
        var e = Reject(text);
        Assert.That((e.Line, e.Column), Is.EqualTo((1, 1)));
        Assert.That(e.Reason, Does.Contain(".version"));
    }

    [Test]
    public void TargetBeforeVersionAndMissingAddressSizeAreRejected()
    {
        var e = Reject(".target sm_70\n.version 7.0\n.address_size 64\n");
        Assert.That(e.Reason, Does.Contain("must start with .version"));
        var e2 = Reject(".version 7.0\n.target sm_70\n.visible .entry k() { ret; }");
        Assert.That((e2.Line, e2.Column), Is.EqualTo((3, 1)));
        Assert.That(e2.Reason, Does.Contain(".address_size 64"));
        var e3 = Reject(".version 5.0\n.target sm_70\n.address_size 64\n");
        Assert.That(e3.Reason, Does.Contain("needs .version 6.0"));
    }

    [Test]
    public void UndeclaredRegisterIsRejected()
    {
        string text = Template.Replace("BODY", "add.u32 %r1, %r9, 1;   // HERE");
        AssertAt(Reject(text), text, "// HERE", "%r9", "undeclared register %r9");
    }

    [TestCase("add.f32 %f3, %r1, %f1;   // HERE", "%r1", ".u32")]
    [TestCase("add.f32 %f3, %f1, %s1;   // HERE", "%s1", ".s32")]
    [TestCase("add.rn.f64 %fd3, %fd1, %f1;   // HERE", "%f1", ".f32")]
    [TestCase("add.u32 %r3, %r1, %f1;   // HERE", "%f1", ".f32")]
    [TestCase("add.u64 %rd1, %rd2, %r1;   // HERE", "%r1", ".u32")]
    public void TypeDisagreementIsRejected(string line, string token, string declared)
    {
        string text = Template.Replace("BODY", line);
        AssertAt(Reject(text), text, "// HERE", token, $"is declared {declared}");
    }

    [TestCase("add.f32 %f3, %b1, %f1;   // OK")]
    [TestCase("add.s32 %r3, %r1, %s1;   // OK")]
    [TestCase("add.u32 %b3, %b1, %r1;   // OK")]
    public void BitAndSignednessAgreementIsAccepted(string line)
    {
        string text = Template.Replace("BODY", "mov.b32 %b1, 0f3F800000;\nmov.s32 %s1, -1;\n" + line);
        Assert.DoesNotThrow(() => Driver.LoadModule(text, "ok.ptx"));
    }

    [TestCase("div.f32 %f3, %f1, %f2;   // HERE", "div.f32", ".approx, .full or a rounding modifier")]
    [TestCase("div.f64 %fd3, %fd1, %fd2;   // HERE", "div.f64", "needs a rounding modifier")]
    [TestCase("fma.f32 %f3, %f1, %f2, %f1;   // HERE", "fma.f32", "needs a rounding modifier")]
    [TestCase("sqrt.f32 %f3, %f1;   // HERE", "sqrt.f32", "needs .approx or a rounding modifier")]
    [TestCase("rcp.f64 %fd3, %fd1;   // HERE", "rcp.f64", "needs .approx or a rounding modifier")]
    [TestCase("rsqrt.f32 %f3, %f1;   // HERE", "rsqrt.f32", "needs .approx")]
    [TestCase("ex2.f32 %f3, %f1;   // HERE", "ex2.f32", "needs .approx")]
    [TestCase("lg2.f32 %f3, %f1;   // HERE", "lg2.f32", "needs .approx")]
    [TestCase("cvt.s32.f32 %s1, %f1;   // HERE", "cvt.s32.f32", "integer rounding modifier")]
    [TestCase("cvt.f32.s32 %f1, %s1;   // HERE", "cvt.f32.s32", "float rounding modifier")]
    [TestCase("cvt.f32.f64 %f1, %fd1;   // HERE", "cvt.f32.f64", "narrowing")]
    [TestCase("cvt.rn.f64.f32 %fd1, %f1;   // HERE", "cvt.rn.f64.f32", "widening")]
    [TestCase("cvt.rn.u32.s32 %r1, %s1;   // HERE", "cvt.rn.u32.s32", "integer-to-integer")]
    [TestCase("mul.u32 %r3, %r1, %r2;   // HERE", "mul.u32", ".lo, .hi or .wide")]
    public void MissingOrWrongModifiersAreRejected(string line, string token, string reasonPart)
    {
        string text = Template.Replace("BODY", line);
        AssertAt(Reject(text), text, "// HERE", token, reasonPart);
    }

    [Test]
    public void UnknownOpcodeIsRejected()
    {
        string text = Template.Replace("BODY", "frobnicate.b32 %r1, %r2;   // HERE");
        AssertAt(Reject(text), text, "// HERE", "frobnicate", "unknown or unsupported instruction 'frobnicate'");
    }

    [TestCase("add.u32 %r1, %r2, 0f3F800000;   // HERE", "0f3F800000", "expects .u32")]
    [TestCase("add.f32 %f1, %f2, 1;   // HERE", "1;", "integer literal")]
    [TestCase("mov.f32 %f1, 0f3F80;   // HERE", "0f3F80", "exactly 8 hex digits")]
    [TestCase("mov.u32 %r1, 0b102;   // HERE", "0b102", "malformed integer literal")]
    [TestCase("mov.u32 %r1, 09;   // HERE", "09", "malformed integer literal")]
    [TestCase("add.u32 %r1, %tid.x, 1;   // HERE", "%tid.x", "only be read by mov")]
    [TestCase("ld.global.v4.f64 {%fd1, %fd2, %fd3, %fd1}, [%rd1];   // HERE", "ld.global.v4.f64", "at most 128 bits")]
    [TestCase("ld.global.f32 %f1, [%r1];   // HERE", "%r1", "64-bit")]
    [TestCase("st.param.u32 [p], %r1;   // HERE", "st.param.u32", "read-only")]
    [TestCase("add.rz.f32 %f1, %f2, %f2;   // HERE", "add.rz.f32", "implements only .rn")]
    [TestCase("bra $L__nowhere;   // HERE", "$L__nowhere", "not a label")]
    [TestCase("setp.lt.b32 %p1, %b1, %b2;   // HERE", "setp.lt.b32", "not defined for .b32")]
    [TestCase("shfl.bfly.b32 %r1, %r2, 1, 31;   // HERE", "shfl.bfly.b32", "use shfl.sync")]
    [TestCase("add.ftz.f64 %fd1, %fd2, %fd2;   // HERE", "add.ftz.f64", ".ftz applies to .f32 only")]
    public void OtherRejectedForms(string line, string token, string reasonPart)
    {
        string text = Template.Replace("BODY", line);
        AssertAt(Reject(text), text, "// HERE", token, reasonPart);
    }

    [Test]
    public void DuplicateAndMalformedDeclarationsAreRejected()
    {
        Assert.That(Reject(Template.Replace("BODY", ".reg .f32 %f<2>;")).Reason, Does.Contain("declared twice"));
        Assert.That(Reject(Template.Replace("BODY", ".shared .b8 s[];")).Reason, Does.Contain("no size"));
        Assert.That(Reject(Kernels.Header + ".func f() { ret; }").Reason, Does.Contain(".func"));
        Assert.That(Reject(Kernels.Header + ".visible .entry k() { ret;").Reason, Does.Contain("not closed"));
        Assert.That(Reject(Template.Replace("BODY", "add.u32 %r1, %r2, 1")).Reason, Does.Contain("expected ';'"));
    }

    /// <summary>Accepted syntax, checked by executing it: every literal form and several operand shapes.</summary>
    [Test]
    public void AcceptedFormsLoadAndComputeTheRightValues()
    {
        string text = Kernels.Header + """
            // line comment
            /* block
               comment */
            .visible .entry lits(.param .u64 out_ptr)
            .reqntid 1, 1, 1
            {
                .reg .b32 %r<12>;
                .reg .f32 %f<4>;
                .reg .f64 %fd<3>;
                .reg .b64 %rd<4>;
                .reg .pred %p<3>;
                ld.param.u64 %rd1, [out_ptr];
                mov.u32 %r1, 0x1F;
                mov.u32 %r2, 0b101;
                mov.u32 %r3, 017;
                mov.s32 %r4, -5;
                mov.f32 %f1, 0f3FC00000;
                mov.b32 %r5, %f1;
                mov.f64 %fd1, 0d4004000000000000;
                cvt.rn.f32.f64 %f2, %fd1;
                mov.b32 %r6, %f2;
                mov.f32 %f3, 0.25;
                mov.b32 %r7, %f3;
                mov.u32 %r8, 42U;
                setp.lt.s32 %p1|%p2, %r4, 0;
                selp.u32 %r9, 1, 0, %p2;
                mov.b64 %rd2, {%r1, %r2};
                mov.b64 {%r10, %r11}, %rd2;
                .pragma "nounroll";
                { // nested scope braces are accepted
                st.global.v4.u32 [%rd1], {%r1, %r2, %r3, %r4};
                st.global.v2.b32 [%rd1+16], {%r5, %r6};
                }
                st.global.u32 [%rd1+24], %r7;
                st.global.u32 [%rd1+28], %r8;
                st.global.u32 [%rd1+32], %r9;
                st.global.u32 [%rd1+36], %r11;
                st.global.u64 [%rd1+40], %rd2;
                ret;
            }
            """;
        ulong d = Alloc<uint>(12);
        Launch(Load(text, "lits"), 1u, 1u, new KernelParameterBuffer().Add(d));
        var got = Download<uint>(d, 12);
        Assert.That(got[..4], Is.EqualTo(new uint[] { 31, 5, 15, unchecked((uint)-5) }));
        Assert.That(BitConverter.UInt32BitsToSingle(got[4]), Is.EqualTo(1.5f));
        Assert.That(BitConverter.UInt32BitsToSingle(got[5]), Is.EqualTo(2.5f));
        Assert.That(BitConverter.UInt32BitsToSingle(got[6]), Is.EqualTo(0.25f));
        Assert.That(got[7], Is.EqualTo(42u));
        Assert.That(got[8], Is.EqualTo(0u), "p|q: q is the negated comparison");
        Assert.That(got[9], Is.EqualTo(5u), "mov.b64 unpack puts the high half second");
        Assert.That(got[10] | ((ulong)got[11] << 32), Is.EqualTo(31UL | (5UL << 32)));
    }

    [Test]
    public void ParameterLayoutUsesNaturalAlignment()
    {
        string text = Kernels.Header + """
            .visible .entry params(.param .u32 a, .param .u64 b, .param .f32 c, .param .align 16 .b8 d[16], .param .u16 e)
            {
                ret;
            }
            """;
        var f = Load(text, "params");
        // a@0 (4), b@8 (8), c@16 (4), d@32 (16), e@48 (2) -> 50 bytes.
        Launch(f, 1u, 1u, new PaddedBuffer(50));
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 1u, new PaddedBuffer(48)))!;
        Assert.That(e.Detail, Does.Contain("takes 50"));
    }

    [Test]
    public void UnknownKernelNameListsTheKernels()
    {
        var m = Driver.LoadModule(Kernels.VectorAdd, "vadd.ptx");
        var e = Assert.Throws<CudaException>(() => Driver.GetFunction(m, "vsub"))!;
        Assert.That(e.Error, Is.EqualTo(CudaError.NotFound));
        Assert.That(e.Message, Does.Contain("vadd"));
    }

    private void Launch(CudaFunction f, Dim3 grid, Dim3 block, PaddedBuffer args) =>
        Driver.Launch(f, grid, block, 0, CudaStream.Default, new byte[args.Size]);

    private readonly record struct PaddedBuffer(int Size);

    [TestCase(".version 6.0\n.target sm_80\n.address_size 64\n", "needs .version 7.0")]
    [TestCase(".version 6.2\n.target sm_75\n.address_size 64\n", "needs .version 6.3")]
    [TestCase(".version 7.0\n.target sm_60\n.address_size 64\n.visible .entry k() { fence.acq_rel.gpu; ret; }", "fence needs .target sm_70")]
    [TestCase(".version 7.0\n.target sm_60\n.address_size 64\n.visible .entry k(.param .u64 p) { .reg .b64 %rd<2>; ld.param.u64 %rd1, [p]; ld.acquire.gpu.global.u64 %rd1, [%rd1]; ret; }", "needs .target sm_70")]
    [TestCase(".version 7.0\n.target sm_52\n.address_size 64\n.visible .entry k(.param .u64 p) { .reg .b64 %rd<2>; ld.param.u64 %rd1, [p]; red.gpu.global.add.u64 [%rd1], 1; ret; }", "needs .target sm_60")]
    public void TargetGatedFeaturesAreRejected(string text, string reasonPart)
    {
        Assert.That(Reject(text).Reason, Does.Contain(reasonPart));
    }

    [Test]
    public void LowestTargetsAcceptTheKernelsSubset()
    {
        // The test kernels use only sm_60-era features: they must load for .target sm_60 too.
        foreach (var text in new[] { Kernels.VectorAdd, Kernels.WarpSum, Kernels.BlockSum, Kernels.Histogram, Kernels.Map2D, Kernels.Diverge })
        {
            string low = text.Replace(".version 7.0\n.target sm_70", ".version 6.0\n.target sm_60");
            Assert.That(low, Does.Contain("sm_60"));
            Assert.DoesNotThrow(() => Driver.LoadModule(low, "low.ptx"));
        }
    }

    [Test]
    public void ModuleScopeSharedArraysCountOnlyInTheKernelsThatUseThem()
    {
        // nvcc's layout: each kernel's static shared array at module scope. 40 KiB each would exceed
        // 48 KiB if every kernel were charged for both.
        string text = Kernels.Header + """
            .shared .align 4 .b8 first_smem[40960];
            .shared .align 4 .b8 second_smem[40960];
            .visible .entry first(.param .u64 out_ptr)
            {
                .reg .b32 %r<3>;
                .reg .b64 %rd<2>;
                ld.param.u64 %rd1, [out_ptr];
                mov.u32 %r1, 7;
                st.shared.u32 [first_smem+40956], %r1;
                ld.shared.u32 %r2, [first_smem+40956];
                st.global.u32 [%rd1], %r2;
                ret;
            }
            .visible .entry second(.param .u64 out_ptr)
            {
                .reg .b32 %r<3>;
                .reg .b64 %rd<3>;
                ld.param.u64 %rd1, [out_ptr];
                mov.u64 %rd2, second_smem;
                mov.u32 %r1, 9;
                st.shared.u32 [%rd2], %r1;
                ld.shared.u32 %r2, [second_smem];
                st.global.u32 [%rd1+4], %r2;
                ret;
            }
            """;
        var m = Driver.LoadModule(text, "two.ptx");
        ulong d = Alloc<uint>(2);
        Driver.Launch(Driver.GetFunction(m, "first"), 1u, 1u, 0, CudaStream.Default, new KernelParameterBuffer().Add(d).Bytes);
        Driver.Launch(Driver.GetFunction(m, "second"), 1u, 1u, 0, CudaStream.Default, new KernelParameterBuffer().Add(d).Bytes);
        Assert.That(Download<uint>(d, 2), Is.EqualTo(new uint[] { 7, 9 }));
        Assert.That(Reject(Kernels.Header + ".shared .b8 a[4];\n.shared .b8 a[4];\n").Reason, Does.Contain("declared twice"));
    }
}
