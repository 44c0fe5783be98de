using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>Per-instruction semantics against C# references on random inputs.</summary>
public class InstructionSemanticsTests : EmulatorTestBase
{
    /// <summary>Prologue: %r0 = global thread index, %rd9 = out + 64 * index (16 words per thread).</summary>
    private const string Prologue = """
            mov.u32 %r30, %ctaid.x;
            mov.u32 %r31, %ntid.x;
            mov.u32 %r29, %tid.x;
            mad.lo.s32 %r0, %r30, %r31, %r29;
            ld.param.u64 %rd8, [out_ptr];
            mul.wide.u32 %rd7, %r0, 64;
            add.s64 %rd9, %rd8, %rd7;
            ld.param.u64 %rd6, [in_ptr];
            mul.wide.u32 %rd5, %r0, 8;
            add.s64 %rd5, %rd6, %rd5;
        """;

    private const string IntegerKernel = Kernels.Header + """
        .visible .entry ints(.param .u64 in_ptr, .param .u64 out_ptr)
        {
            .reg .b32 %r<32>;
            .reg .b64 %rd<12>;
        """ + Prologue + """
            ld.global.v2.u32 {%r1, %r2}, [%rd5];
            add.s32 %r3, %r1, %r2;
            sub.s32 %r4, %r1, %r2;
            mul.lo.s32 %r5, %r1, %r2;
            mul.hi.s32 %r6, %r1, %r2;
            mul.hi.u32 %r7, %r1, %r2;
            div.s32 %r8, %r1, %r2;
            rem.s32 %r9, %r1, %r2;
            div.u32 %r10, %r1, %r2;
            rem.u32 %r11, %r1, %r2;
            min.s32 %r12, %r1, %r2;
            max.u32 %r13, %r1, %r2;
            and.b32 %r14, %r2, 31;
            shr.s32 %r15, %r1, %r14;
            shr.u32 %r16, %r1, %r14;
            shl.b32 %r17, %r1, %r14;
            abs.s32 %r18, %r1;
            st.global.v4.u32 [%rd9], {%r3, %r4, %r5, %r6};
            st.global.v4.u32 [%rd9+16], {%r7, %r8, %r9, %r10};
            st.global.v4.u32 [%rd9+32], {%r11, %r12, %r13, %r15};
            neg.s32 %r19, %r1;
            not.b32 %r20, %r1;
            xor.b32 %r21, %r1, %r2;
            mad.lo.s32 %r22, %r1, %r2, %r1;
            add.sat.s32 %r23, %r1, %r2;
            mul.wide.s32 %rd10, %r1, %r2;
            mov.b64 {%r24, %r25}, %rd10;
            st.global.v4.u32 [%rd9+48], {%r16, %r17, %r18, %r19};
            st.global.u32 [%rd9+48], %r20;
            st.global.u32 [%rd9+52], %r21;
            st.global.u32 [%rd9+56], %r25;
            st.global.u32 [%rd9+60], %r23;
            ret;
        }
        """;

    [Test]
    public void IntegerArithmetic()
    {
        const int n = 64;
        var rng = new Random(31);
        var input = new int[2 * n];
        for (int i = 0; i < 2 * n; i++) input[i] = i % 5 == 0 ? rng.Next(-20, 20) : rng.Next(int.MinValue, int.MaxValue);
        for (int i = 1; i < 2 * n; i += 2) if (input[i] == 0) input[i] = 7;
        input[0] = int.MinValue; input[1] = -1;
        ulong din = Upload(input), dout = Alloc<uint>(16 * n);
        Launch(Load(IntegerKernel, "ints"), 2u, 32u, new KernelParameterBuffer().Add(din).Add(dout));
        var got = Download<uint>(dout, 16 * n);
        for (int t = 0; t < n; t++)
        {
            int a = input[2 * t], b = input[2 * t + 1];
            uint ua = (uint)a, ub = (uint)b;
            int sh = b & 31;
            long wide = (long)a * b;
            var expected = new uint[]
            {
                unchecked((uint)(a + b)), unchecked((uint)(a - b)), unchecked((uint)(a * b)), (uint)(wide >> 32),
                (uint)(((ulong)ua * ub) >> 32), b == -1 ? unchecked((uint)-a) : (uint)(a / b), b == -1 ? 0 : (uint)(a % b), ua / ub,
                ua % ub, (uint)Math.Min(a, b), Math.Max(ua, ub), (uint)(a >> sh),
                ~ua, ua ^ ub, (uint)(wide >> 32), (uint)Math.Clamp((long)a + b, int.MinValue, int.MaxValue),
            };
            Assert.That(got[(16 * t)..(16 * t + 16)], Is.EqualTo(expected), $"thread {t}: a={a} b={b}");
        }
    }

    private const string FloatKernel = Kernels.Header + """
        .visible .entry floats(.param .u64 in_ptr, .param .u64 out_ptr)
        {
            .reg .pred %p<8>;
            .reg .b32 %r<32>;
            .reg .f32 %f<20>;
            .reg .f64 %fd<6>;
            .reg .b64 %rd<12>;
        """ + Prologue + """
            ld.global.v2.f32 {%f1, %f2}, [%rd5];
            sub.rn.f32 %f3, %f1, %f2;
            mul.rn.f32 %f4, %f1, %f2;
            fma.rn.f32 %f5, %f1, %f2, %f3;
            div.rn.f32 %f6, %f1, %f2;
            min.f32 %f7, %f1, %f2;
            max.f32 %f8, %f1, %f2;
            abs.f32 %f9, %f1;
            sqrt.rn.f32 %f10, %f9;
            rcp.rn.f32 %f11, %f2;
            neg.f32 %f12, %f1;
            mad.rn.f32 %f13, %f1, %f1, %f2;
            add.sat.f32 %f14, %f1, %f2;
            cvt.f64.f32 %fd1, %f1;
            cvt.f64.f32 %fd2, %f2;
            div.rn.f64 %fd3, %fd1, %fd2;
            cvt.rn.f32.f64 %f15, %fd3;
            st.global.v4.f32 [%rd9], {%f3, %f4, %f5, %f6};
            st.global.v4.f32 [%rd9+16], {%f7, %f8, %f10, %f11};
            st.global.v4.f32 [%rd9+32], {%f12, %f13, %f14, %f15};
            setp.lt.f32 %p1, %f1, %f2;
            setp.ltu.f32 %p2, %f1, %f2;
            setp.nan.f32 %p3, %f1, %f2;
            setp.neu.f32 %p4, %f1, %f2;
            setp.ge.or.f32 %p5, %f1, %f2, %p3;
            selp.u32 %r1, 1, 0, %p1;
            selp.u32 %r2, 2, 0, %p2;
            selp.u32 %r3, 4, 0, %p3;
            selp.u32 %r4, 8, 0, %p4;
            selp.u32 %r5, 16, 0, %p5;
            or.b32 %r6, %r1, %r2;
            or.b32 %r6, %r6, %r3;
            or.b32 %r6, %r6, %r4;
            or.b32 %r6, %r6, %r5;
            st.global.u32 [%rd9+48], %r6;
            ret;
        }
        """;

    [Test]
    public void FloatArithmeticAndUnorderedComparisons()
    {
        const int n = 64;
        var input = RandomFloats(2 * n, 41, -4f, 4f);
        input[0] = float.NaN; input[3] = float.NaN; input[4] = 2f; input[5] = 2f; input[7] = 0f;
        ulong din = Upload(input), dout = Alloc<float>(16 * n);
        Launch(Load(FloatKernel, "floats"), 1u, 64u, new KernelParameterBuffer().Add(din).Add(dout));
        var got = Download<float>(dout, 16 * n);
        var bits = Download<uint>(dout, 16 * n);
        static float Min(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Min(a, b);
        static float Max(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Max(a, b);
        for (int t = 0; t < n; t++)
        {
            float a = input[2 * t], b = input[2 * t + 1];
            float sum = a + b;
            var expected = new float[]
            {
                a - b, a * b, MathF.FusedMultiplyAdd(a, b, a - b), a / b,
                Min(a, b), Max(a, b), MathF.Sqrt(MathF.Abs(a)), 1f / b,
                -a, MathF.FusedMultiplyAdd(a, a, b), float.IsNaN(sum) ? 0f : Math.Clamp(sum, 0f, 1f), (float)((double)a / b),
            };
            Assert.That(got[(16 * t)..(16 * t + 12)], Is.EqualTo(expected), $"thread {t}: a={a} b={b}");
            bool nan = float.IsNaN(a) || float.IsNaN(b);
            uint flags = (a < b ? 1u : 0) | (nan || a < b ? 2u : 0) | (nan ? 4u : 0) | (nan || a != b ? 8u : 0) | ((a >= b) || nan ? 16u : 0);
            Assert.That(bits[16 * t + 12], Is.EqualTo(flags), $"setp flags, thread {t}: a={a} b={b}");
        }
    }

    private const string CvtKernel = Kernels.Header + """
        .visible .entry cvts(.param .u64 in_ptr, .param .u64 out_ptr)
        {
            .reg .b32 %r<32>;
            .reg .f32 %f<8>;
            .reg .b64 %rd<12>;
            .reg .b16 %h<2>;
        """ + Prologue + """
            ld.global.f32 %f1, [%rd5];
            ld.global.s32 %r1, [%rd5+4];
            cvt.rni.s32.f32 %r2, %f1;
            cvt.rzi.s32.f32 %r3, %f1;
            cvt.rmi.s32.f32 %r4, %f1;
            cvt.rpi.s32.f32 %r5, %f1;
            cvt.rzi.u32.f32 %r6, %f1;
            cvt.sat.u8.s32 %r7, %r1;
            cvt.u8.u32 %r8, %r1;
            cvt.s8.s32 %r9, %r1;
            cvt.rn.f32.s32 %f2, %r1;
            cvt.sat.f32.f32 %f3, %f1;
            cvt.rni.f32.f32 %f4, %f1;
            cvt.u16.u32 %h1, %r1;
            cvt.s32.s16 %r10, %h1;
            st.global.v4.u32 [%rd9], {%r2, %r3, %r4, %r5};
            st.global.v4.u32 [%rd9+16], {%r6, %r7, %r8, %r9};
            st.global.v4.f32 [%rd9+32], {%f2, %f3, %f4, %f2};
            st.global.u32 [%rd9+44], %r10;
            st.global.u16 [%rd9+48], %h1;
            ret;
        }
        """;

    [Test]
    public void ConversionsRoundAndSaturate()
    {
        const int n = 32;
        var rng = new Random(51);
        var input = new int[2 * n];
        for (int t = 0; t < n; t++)
        {
            float x = t switch { 0 => 2.5f, 1 => -2.5f, 2 => 3e9f, 3 => -3e9f, 4 => float.NaN, _ => (float)(rng.NextDouble() * 600 - 300) };
            input[2 * t] = BitConverter.SingleToInt32Bits(x);
            input[2 * t + 1] = t < 3 ? new[] { 300, -7, 40000 }[t] : rng.Next(-100000, 100000);
        }
        ulong din = Upload(input), dout = Alloc<uint>(16 * n);
        Launch(Load(CvtKernel, "cvts"), 1u, 32u, new KernelParameterBuffer().Add(din).Add(dout));
        var got = Download<uint>(dout, 16 * n);
        static uint SatS32(double v) => double.IsNaN(v) ? 0 : v >= 2147483648.0 ? int.MaxValue : v <= -2147483648.0 ? unchecked((uint)int.MinValue) : (uint)(int)v;
        static uint SatU32(double v) => double.IsNaN(v) || v <= 0 ? 0 : v >= 4294967296.0 ? uint.MaxValue : (uint)v;
        for (int t = 0; t < n; t++)
        {
            float x = BitConverter.Int32BitsToSingle(input[2 * t]);
            int i = input[2 * t + 1];
            float sat = float.IsNaN(x) ? 0f : Math.Clamp(x, 0f, 1f);
            var expected = new uint[]
            {
                SatS32(Math.Round(x, MidpointRounding.ToEven)), SatS32(Math.Truncate(x)), SatS32(Math.Floor(x)), SatS32(Math.Ceiling(x)),
                SatU32(Math.Truncate(x)), (uint)Math.Clamp(i, 0, 255), (uint)(byte)i, unchecked((uint)(sbyte)i),
                BitConverter.SingleToUInt32Bits((float)i), BitConverter.SingleToUInt32Bits(sat),
                BitConverter.SingleToUInt32Bits(MathF.Round(x, MidpointRounding.ToEven)),
                unchecked((uint)(int)(short)i), (uint)(ushort)i,
            };
            var actual = got[(16 * t)..(16 * t + 13)];
            Assert.That(actual, Is.EqualTo(expected), $"thread {t}: x={x} i={i}");
        }
    }

    [Test]
    public void BitCountingAndReversal()
    {
        string text = Kernels.Header + """
            .visible .entry bits(.param .u64 in_ptr, .param .u64 out_ptr)
            {
                .reg .b32 %r<32>;
                .reg .b64 %rd<12>;
            """ + Prologue + """
                ld.global.u32 %r1, [%rd5];
                ld.global.u64 %rd1, [%rd5];
                popc.b32 %r2, %r1;
                clz.b32 %r3, %r1;
                brev.b32 %r4, %r1;
                popc.b64 %r5, %rd1;
                clz.b64 %r6, %rd1;
                brev.b64 %rd2, %rd1;
                st.global.v4.u32 [%rd9], {%r2, %r3, %r4, %r5};
                st.global.u32 [%rd9+16], %r6;
                st.global.u64 [%rd9+24], %rd2;
                ret;
            }
            """;
        const int n = 32;
        var rng = new Random(61);
        var input = new ulong[n];
        for (int i = 0; i < n; i++) input[i] = i == 0 ? 0 : (ulong)rng.NextInt64() >> rng.Next(64);
        ulong din = Upload(input), dout = Alloc<uint>(16 * n);
        Launch(Load(text, "bits"), 1u, 32u, new KernelParameterBuffer().Add(din).Add(dout));
        var got = Download<uint>(dout, 16 * n);
        static ulong Reverse(ulong v, int bits) { ulong r = 0; for (int i = 0; i < bits; i++) if ((v >> i & 1) != 0) r |= 1UL << (bits - 1 - i); return r; }
        for (int t = 0; t < n; t++)
        {
            ulong v = input[t];
            uint lo = (uint)v;
            var expected = new uint[]
            {
                (uint)System.Numerics.BitOperations.PopCount(lo), (uint)System.Numerics.BitOperations.LeadingZeroCount(lo),
                (uint)Reverse(lo, 32), (uint)System.Numerics.BitOperations.PopCount(v), (uint)System.Numerics.BitOperations.LeadingZeroCount(v),
            };
            Assert.That(got[(16 * t)..(16 * t + 5)], Is.EqualTo(expected), $"thread {t}: {v:X}");
            Assert.That(got[16 * t + 6] | ((ulong)got[16 * t + 7] << 32), Is.EqualTo(Reverse(v, 64)), $"brev.b64 thread {t}");
        }
    }

    [Test]
    public void SixtyFourBitIntegerAndWideForms()
    {
        string text = Kernels.Header + """
            .visible .entry ints64(.param .u64 in_ptr, .param .u64 out_ptr)
            {
                .reg .b32 %r<32>;
                .reg .b64 %rd<20>;
            """ + Prologue + """
                ld.global.v2.u32 {%r1, %r2}, [%rd5];
                ld.global.s32 %r3, [%rd5];
                cvt.s64.s32 %rd1, %r3;
                mul.wide.u32 %rd2, %r1, %r2;
                mad.wide.u32 %rd3, %r1, %r2, %rd1;
                mad.hi.u32 %r4, %r1, %r2, 7;
                mul.lo.s64 %rd4, %rd1, 1000003;
                div.s64 %rd10, %rd4, 97;
                rem.s64 %rd11, %rd4, 97;
                shr.s64 %rd12, %rd4, 7;
                min.s64 %rd13, %rd4, %rd2;
                max.u64 %rd14, %rd4, %rd2;
                mul.hi.u64 %rd15, %rd4, %rd2;
                st.global.v2.u64 [%rd9], {%rd3, %rd10};
                st.global.v2.u64 [%rd9+16], {%rd11, %rd12};
                st.global.v2.u64 [%rd9+32], {%rd13, %rd14};
                st.global.u64 [%rd9+48], %rd15;
                st.global.u32 [%rd9+56], %r4;
                ret;
            }
            """;
        const int n = 32;
        var rng = new Random(71);
        var input = new int[2 * n];
        for (int i = 0; i < 2 * n; i++) input[i] = rng.Next(int.MinValue, int.MaxValue);
        ulong din = Upload(input), dout = Alloc<ulong>(8 * n);
        Launch(Load(text, "ints64"), 1u, 32u, new KernelParameterBuffer().Add(din).Add(dout));
        var got = Download<ulong>(dout, 8 * n);
        for (int t = 0; t < n; t++)
        {
            int a = input[2 * t]; uint ua = (uint)a, ub = (uint)input[2 * t + 1];
            long s = a;
            ulong wide = (ulong)ua * ub;
            long p = unchecked(s * 1000003);
            var expected = new ulong[]
            {
                unchecked(wide + (ulong)s), (ulong)(p / 97), (ulong)(p % 97), (ulong)(p >> 7),
                (ulong)Math.Min(p, (long)wide), Math.Max((ulong)p, wide), Math.BigMul((ulong)p, wide, out _),
                (uint)((wide >> 32) + 7),
            };
            Assert.That(got[(8 * t)..(8 * t + 8)], Is.EqualTo(expected), $"thread {t}: a={a} b={ub}");
        }
    }

    [Test]
    public void Float64AndTranscendentals()
    {
        string text = Kernels.Header + """
            .visible .entry f64s(.param .u64 in_ptr, .param .u64 out_ptr)
            {
                .reg .b32 %r<32>;
                .reg .f32 %f<12>;
                .reg .f64 %fd<12>;
                .reg .b64 %rd<12>;
            """ + Prologue + """
                ld.global.f64 %fd1, [%rd5];
                abs.f64 %fd2, %fd1;
                sqrt.rn.f64 %fd3, %fd2;
                rcp.rn.f64 %fd4, %fd1;
                fma.rn.f64 %fd5, %fd1, %fd1, %fd4;
                min.f64 %fd6, %fd1, %fd4;
                max.f64 %fd7, %fd1, %fd4;
                neg.f64 %fd8, %fd1;
                rsqrt.approx.f64 %fd9, %fd2;
                mul.rn.f64 %fd10, %fd1, %fd8;
                st.global.v2.f64 [%rd9], {%fd3, %fd4};
                st.global.v2.f64 [%rd9+16], {%fd5, %fd6};
                st.global.v2.f64 [%rd9+32], {%fd7, %fd8};
                st.global.v2.f64 [%rd9+48], {%fd9, %fd10};
                ret;
            }
            """;
        string text32 = Kernels.Header + """
            .visible .entry f32s(.param .u64 in_ptr, .param .u64 out_ptr)
            {
                .reg .b32 %r<32>;
                .reg .f32 %f<12>;
                .reg .b64 %rd<12>;
            """ + Prologue + """
                ld.global.f32 %f1, [%rd5];
                ex2.approx.f32 %f2, %f1;
                abs.f32 %f3, %f1;
                lg2.approx.ftz.f32 %f4, %f3;
                rsqrt.approx.f32 %f5, %f3;
                sin.approx.f32 %f6, %f1;
                cos.approx.f32 %f7, %f1;
                div.approx.f32 %f8, %f1, 0f40400000;
                div.full.f32 %f9, %f1, 0f40400000;
                st.global.v4.f32 [%rd9], {%f2, %f4, %f5, %f6};
                st.global.v4.f32 [%rd9+16], {%f7, %f8, %f9, %f9};
                ret;
            }
            """;
        const int n = 32;
        var x = new double[n];
        var rng = new Random(81);
        for (int i = 0; i < n; i++) x[i] = (rng.NextDouble() - 0.5) * 20;
        ulong din = Upload(x), dout = Alloc<double>(8 * n);
        Launch(Load(text, "f64s"), 1u, 32u, new KernelParameterBuffer().Add(din).Add(dout));
        var got = Download<double>(dout, 8 * n);
        for (int t = 0; t < n; t++)
        {
            double v = x[t];
            var expected = new[] { Math.Sqrt(Math.Abs(v)), 1 / v, Math.FusedMultiplyAdd(v, v, 1 / v), Math.Min(v, 1 / v), Math.Max(v, 1 / v), -v, 1 / Math.Sqrt(Math.Abs(v)), v * -v };
            Assert.That(got[(8 * t)..(8 * t + 8)], Is.EqualTo(expected), $"thread {t}: {v}");
        }
        // The prologue strides the input by 8 bytes per thread: floats sit at even indices.
        var xf = x.SelectMany(v => new[] { (float)v, 0f }).ToArray();
        ulong dinf = Upload(xf), doutf = Alloc<float>(16 * n);
        Launch(Load(text32, "f32s"), 1u, 32u, new KernelParameterBuffer().Add(dinf).Add(doutf));
        var gf = Download<float>(doutf, 16 * n);
        for (int t = 0; t < n; t++)
        {
            float v = xf[2 * t];
            var expected = new[] { MathF.Pow(2, v), MathF.Log2(MathF.Abs(v)), 1 / MathF.Sqrt(MathF.Abs(v)), MathF.Sin(v), MathF.Cos(v), v / 3f, v / 3f };
            Assert.That(gf[(16 * t)..(16 * t + 7)], Is.EqualTo(expected).Within(1e-5f).Percent, $"thread {t}: {v}");
        }
    }

    [Test]
    public void MinMaxNaNPropagatesWhilePlainMinMaxIgnoresNaN()
    {
        string text = Kernels.Header + """
            .visible .entry mm(.param .u64 out_ptr)
            {
                .reg .f32 %f<8>;
                .reg .b64 %rd<2>;
                ld.param.u64 %rd1, [out_ptr];
                mov.f32 %f1, 0f7FC00000;
                mov.f32 %f2, 0f40000000;
                min.f32 %f3, %f1, %f2;
                max.NaN.f32 %f4, %f1, %f2;
                min.NaN.f32 %f5, %f2, 0f3F800000;
                max.f32 %f6, %f2, %f1;
                st.global.v4.f32 [%rd1], {%f3, %f4, %f5, %f6};
                ret;
            }
            """;
        ulong d = Alloc<float>(4);
        Launch(Load(text, "mm"), 1u, 1u, new KernelParameterBuffer().Add(d));
        var got = Download<float>(d, 4);
        Assert.That(got[0], Is.EqualTo(2f));
        Assert.That(float.IsNaN(got[1]), Is.True);
        Assert.That(got[2], Is.EqualTo(1f));
        Assert.That(got[3], Is.EqualTo(2f));
    }

    [Test]
    public void FlushToZeroFlushesSubnormalInputsAndResults()
    {
        string text = Kernels.Header + """
            .visible .entry ftz(.param .u64 out_ptr)
            {
                .reg .pred %p<3>;
                .reg .b32 %r<4>;
                .reg .f32 %f<10>;
                .reg .f64 %fd<2>;
                .reg .b64 %rd<2>;
                ld.param.u64 %rd1, [out_ptr];
                mov.f32 %f1, 0f80000001;
                mov.f32 %f2, 0f00000000;
                add.f32 %f3, %f1, %f2;
                add.ftz.f32 %f4, %f1, %f2;
                mov.f32 %f5, 0f1E000000;
                mul.rn.f32 %f6, %f5, %f5;
                mul.rn.ftz.f32 %f7, %f5, %f5;
                setp.eq.ftz.f32 %p1, %f1, %f2;
                setp.eq.f32 %p2, %f1, %f2;
                selp.u32 %r1, 1, 0, %p1;
                selp.u32 %r2, 2, 0, %p2;
                or.b32 %r3, %r1, %r2;
                cvt.ftz.f64.f32 %fd1, %f1;
                st.global.v4.f32 [%rd1], {%f3, %f4, %f6, %f7};
                st.global.u32 [%rd1+16], %r3;
                st.global.f64 [%rd1+24], %fd1;
                ret;
            }
            """;
        ulong d = Alloc<ulong>(4);
        Launch(Load(text, "ftz"), 1u, 1u, new KernelParameterBuffer().Add(d));
        var bits = Download<uint>(d, 8);
        Assert.That(bits[0], Is.EqualTo(0x80000001u), "without .ftz the subnormal survives");
        Assert.That(bits[1], Is.EqualTo(0u), ".ftz flushes the input to -0, and -0 + +0 is +0");
        float tiny = BitConverter.UInt32BitsToSingle(0x1E000000);
        Assert.That(BitConverter.UInt32BitsToSingle(bits[2]), Is.EqualTo(tiny * tiny));
        Assert.That(float.IsSubnormal(tiny * tiny), Is.True);
        Assert.That(bits[3], Is.EqualTo(0u), ".ftz flushes the subnormal product");
        Assert.That(bits[4], Is.EqualTo(1u), "only setp.ftz sees the subnormal as zero");
        Assert.That(BitConverter.UInt64BitsToDouble(bits[6] | ((ulong)bits[7] << 32)), Is.EqualTo(-0.0));
    }
}
