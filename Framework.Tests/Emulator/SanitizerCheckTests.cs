using Framework.Cuda;
using Framework.Cuda.Emulator;
using Framework.Cuda.Emulator.Execution;
using Framework.Cuda.Emulator.Ptx;
using NUnit.Framework;

namespace Framework.Tests.Emulator;

/// <summary>
/// The checking-mode checks: global races within a launch, reads of never-written global and shared
/// memory, and interleaved blocks; plus cvt of NaN to integers. Each planted bug must fail with the
/// right check and PTX line, and its corrected variant must run clean.
/// </summary>
public class SanitizerCheckTests : EmulatorTestBase
{
    // out[index] = value, where index is ctaid.x * SCALE + tid.x % MOD and value is the global thread id.
    private const string IndexedStore = Kernels.Header + """
        .visible .entry put(.param .u64 out_ptr, .param .u32 scale, .param .u32 mod)
        {
            .reg .b32 %r<9>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            ld.param.u32 %r1, [scale];
            ld.param.u32 %r2, [mod];
            mov.u32 %r3, %ctaid.x;
            mov.u32 %r4, %tid.x;
            mov.u32 %r5, %ntid.x;
            rem.u32 %r6, %r4, %r2;
            mad.lo.s32 %r7, %r3, %r1, %r6;
            mad.lo.s32 %r8, %r3, %r5, %r4;
            mul.wide.u32 %rd2, %r7, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.u32 [%rd3], %r8;      // STORE
            ret;
        }
        """;

    [Test]
    public void StoresOfTwoBlocksToOneAddressAreAGlobalRace()
    {
        ulong d = Alloc<uint>(64);
        var f = Load(IndexedStore, "put");
        // scale 0: every block writes out[0 .. 32).
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 3u, 32u, new KernelParameterBuffer().Add(d).Add(0u).Add(32u)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalRace));
        Assert.That(e.Line, Is.EqualTo(LineOf(IndexedStore, "// STORE")));
        Assert.That(e.Detail, Does.Contain("store").And.Contain("warp 0 of block"));
        // Corrected: each block owns its 32 slots.
        Launch(f, 2u, 32u, new KernelParameterBuffer().Add(d).Add(32u).Add(32u));
        Assert.That(Download<uint>(d, 64), Is.EqualTo(Enumerable.Range(0, 64).Select(i => (uint)i).ToArray()));
    }

    [Test]
    public void StoresOfTwoWarpsOfOneBlockAreAGlobalRaceButOneWarpsAreNot()
    {
        ulong d = Alloc<uint>(64);
        var f = Load(IndexedStore, "put");
        // 64 threads, index tid % 32: warp 1 stores where warp 0 stored, with no barrier between.
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d).Add(0u).Add(32u)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalRace));
        Assert.That(e.Line, Is.EqualTo(LineOf(IndexedStore, "// STORE")));
        Assert.That(e.Thread!.Value.X, Is.GreaterThanOrEqualTo(32u), "the second warp's store is the second access");
        Assert.That(e.Detail, Does.Contain("warp 0 of block (0, 0, 0)"));
        // Same-warp conflicts are not reported: the hardware serialises them with one winner.
        Launch(f, 1u, 32u, new KernelParameterBuffer().Add(d).Add(0u).Add(1u));
        Assert.That(Download<uint>(d, 1)[0], Is.LessThan(32u));
    }

    private const string BarrierOrderedStores = Kernels.Header + """
        .visible .entry ordered(.param .u64 out_ptr)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<3>;
            .reg .b64 %rd<2>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %tid.x;
            setp.lt.u32 %p1, %r1, 32;
            @%p1 st.global.u32 [%rd1], %r1;     // FIRST
            SYNC
            @!%p1 st.global.u32 [%rd1], %r1;    // SECOND
            ret;
        }
        """;

    [TestCase("bar.sync 0;", null)]
    [TestCase("membar.gl;", "// SECOND")]
    public void OnlyABarrierOrdersTheStoresOfTwoWarps(string sync, string? raceAt)
    {
        ulong d = Alloc<uint>(1);
        string text = BarrierOrderedStores.Replace("SYNC", sync);
        var f = Load(text, "ordered");
        if (raceAt is null)
        {
            Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d));
            Assert.That(Download<uint>(d, 1)[0], Is.InRange(32u, 63u), "the second phase's store wins");
            return;
        }
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalRace));
        Assert.That(e.Line, Is.EqualTo(LineOf(text, raceAt)));
    }

    // x[b] = x[b + 1] + 1 in place, one thread per block: block b + 1 may store x[b + 1] before or after block b reads it.
    private const string InPlaceShift = Kernels.Header + """
        .visible .entry shift(.param .u64 x_ptr, .param .u32 n)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<4>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [x_ptr];
            ld.param.u32 %r1, [n];
            mov.u32 %r2, %ctaid.x;
            mul.wide.u32 %rd2, %r2, 4;
            add.s64 %rd3, %rd1, %rd2;
            add.s32 %r3, %r2, 1;
            setp.ge.u32 %p1, %r3, %r1;
            @%p1 bra $L__end;
            ld.global.u32 %r3, [%rd3+4];    // LOAD
            add.s32 %r3, %r3, 1;
            st.global.u32 [%rd3], %r3;      // STORE
        $L__end:
            ret;
        }
        """;

    [Test]
    public void LoadAndStoreOfDifferentBlocksAreAGlobalRace()
    {
        const int n = 16;
        ulong x = Upload(new uint[n]);
        var f = Load(InPlaceShift, "shift");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, (uint)n, 1u, new KernelParameterBuffer().Add(x).Add((uint)n)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalRace));
        // Which side comes second depends on the interleaving; both are the bug.
        Assert.That(e.Line, Is.EqualTo(LineOf(InPlaceShift, "// LOAD")).Or.EqualTo(LineOf(InPlaceShift, "// STORE")));
        Assert.That(e.Detail, Does.Contain("load").And.Contain("store"));
        // Corrected: out of place (read x, write y) is race-free.
        string outOfPlace = InPlaceShift.Replace(".param .u64 x_ptr,", ".param .u64 x_ptr, .param .u64 y_ptr,")
            .Replace(".reg .b64 %rd<4>;", ".reg .b64 %rd<6>;")
            .Replace("ld.param.u32 %r1, [n];", "ld.param.u32 %r1, [n];\n    ld.param.u64 %rd4, [y_ptr];")
            .Replace("st.global.u32 [%rd3], %r3;", "add.s64 %rd5, %rd4, %rd2;\n    st.global.u32 [%rd5], %r3;");
        ulong y = Alloc<uint>(n);
        Driver.MemsetD32(x, 0, n); // the failed launch above left some blocks' results in x
        Launch(Load(outOfPlace, "shift"), (uint)n, 1u, new KernelParameterBuffer().Add(x).Add(y).Add((uint)n));
        Assert.That(Download<uint>(y, n - 1), Is.All.EqualTo(1u));
    }

    private const string AtomicPlusStore = Kernels.Header + """
        .visible .entry count(.param .u64 c_ptr)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<3>;
            .reg .b64 %rd<2>;
            ld.param.u64 %rd1, [c_ptr];
            mov.u32 %r1, %ctaid.x;
            mov.u32 %r2, %tid.x;
            or.b32 %r2, %r2, %r1;
            setp.eq.u32 %p1, %r2, 0;
            @%p1 st.global.u32 [%rd1], 0;   // RESET
            red.global.add.u32 [%rd1], 1;   // COUNT
            ret;
        }
        """;

    [Test]
    public void PlainStoreAgainstOtherBlocksAtomicsIsAGlobalRaceButAtomicsAloneAreNot()
    {
        ulong c = Upload(new uint[1]);
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(Load(AtomicPlusStore, "count"), 4u, 32u, new KernelParameterBuffer().Add(c)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.GlobalRace));
        Assert.That(e.Line, Is.EqualTo(LineOf(AtomicPlusStore, "// COUNT")).Or.EqualTo(LineOf(AtomicPlusStore, "// RESET")));
        // Corrected: the counter is reset by the host (memset); atomics of every block and warp never race.
        Driver.MemsetD32(c, 0, 1);
        Launch(Load(AtomicPlusStore.Replace("@%p1 st.global.u32 [%rd1], 0;   // RESET", ""), "count"), 4u, 64u, new KernelParameterBuffer().Add(c));
        Assert.That(Download<uint>(c, 1)[0], Is.EqualTo(256u));
    }

    [Test]
    public void RacesAreForgottenBetweenLaunches()
    {
        ulong d = Alloc<uint>(32);
        var f = Load(IndexedStore, "put");
        // Block 0 of one launch and block 0 of the next write the same slots: launches are ordered.
        Launch(f, 1u, 32u, new KernelParameterBuffer().Add(d).Add(0u).Add(32u));
        Launch(f, 1u, 32u, new KernelParameterBuffer().Add(d).Add(0u).Add(32u));
        Assert.That(Download<uint>(d, 32), Is.EqualTo(Enumerable.Range(0, 32).Select(i => (uint)i).ToArray()));
    }

    // y[i] = x[i] * 2 for i < n.
    private const string Double = Kernels.Header + """
        .visible .entry dbl(.param .u64 x_ptr, .param .u64 y_ptr, .param .u32 n)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<3>;
            .reg .f32 %f<3>;
            .reg .b64 %rd<6>;
            ld.param.u64 %rd1, [x_ptr];
            ld.param.u64 %rd2, [y_ptr];
            ld.param.u32 %r1, [n];
            mov.u32 %r2, %tid.x;
            setp.ge.u32 %p1, %r2, %r1;
            @%p1 bra $L__end;
            mul.wide.u32 %rd3, %r2, 4;
            add.s64 %rd4, %rd1, %rd3;
            add.s64 %rd5, %rd2, %rd3;
            ld.global.f32 %f1, [%rd4];      // LOAD
            add.f32 %f2, %f1, %f1;
            st.global.f32 [%rd5], %f2;
        $L__end:
            ret;
        }
        """;

    [Test]
    public void ReadOfNeverWrittenGlobalMemoryIsReported()
    {
        const int n = 64;
        ulong x = Driver.Allocate(n * 4), y = Driver.Allocate(n * 4);
        // The host writes only the first half.
        Driver.CopyHostToDevice(x, System.Runtime.InteropServices.MemoryMarshal.AsBytes(new float[n / 2].AsSpan()));
        var f = Load(Double, "dbl");
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, (uint)n, new KernelParameterBuffer().Add(x).Add(y).Add((uint)n)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.UninitializedGlobalRead));
        Assert.That(e.Line, Is.EqualTo(LineOf(Double, "// LOAD")));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(n / 2, 0, 0)), "the first thread past the written half");
        Assert.That(e.Detail, Does.Contain($"byte {n / 2 * 4}"));
        // Corrected: only the written half is read; the output, half unwritten, may be copied back (not reported).
        Launch(f, 1u, (uint)n, new KernelParameterBuffer().Add(x).Add(y).Add((uint)n / 2));
        var back = Download<float>(y, n);
        Assert.That(back[..(n / 2)], Is.All.EqualTo(0f));
        Assert.That(float.IsNaN(back[n - 1]), Is.True, "unwritten bytes still read as the poison pattern on the host");
    }

    [Test]
    public void InitialisationFollowsMemsetDeviceCopyAndKernelStores()
    {
        const int n = 32;
        ulong a = Driver.Allocate(n * 4), b = Driver.Allocate(n * 4), c = Driver.Allocate(n * 4), fresh = Driver.Allocate(n * 4);
        var f = Load(Double, "dbl");
        var args = (ulong src, ulong dst) => new KernelParameterBuffer().Add(src).Add(dst).Add((uint)n);
        Driver.MemsetD32(a, 0x3F800000u, n);                 // memset: 1.0f
        Launch(f, 1u, (uint)n, args(a, b));                  // a kernel store initialises b
        Driver.CopyDeviceToDevice(c, b, n * 4);              // DtoD copies the initialised state
        Launch(f, 1u, (uint)n, args(c, a));
        Assert.That(Download<float>(a, n), Is.All.EqualTo(4f));
        // DtoD of never-written bytes stays uninitialised.
        Driver.CopyDeviceToDevice(c, fresh, n * 4);
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, (uint)n, args(c, a)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.UninitializedGlobalRead));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(0, 0, 0)));
    }

    [Test]
    public void BlasResultsCountAsWritten()
    {
        // C = A * B (2x2) with beta 0: C need not be initialised, and afterwards a kernel may read it.
        ulong a = Upload(new float[] { 1, 2, 3, 4 }), b = Upload(new float[] { 1, 0, 0, 1 }), c = Driver.Allocate(16), d = Driver.Allocate(16);
        Driver.Sgemm(BlasOperation.None, BlasOperation.None, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);
        Launch(Load(Double, "dbl"), 1u, 4u, new KernelParameterBuffer().Add(c).Add(d).Add(4u));
        Assert.That(Download<float>(d, 4), Is.EqualTo(new float[] { 2, 4, 6, 8 }));
    }

    private const string SharedReverse = Kernels.Header + """
        .visible .entry rev(.param .u64 out_ptr, .param .u32 n)
        {
            .shared .align 4 .u32 buf[64];
            .reg .pred %p<2>;
            .reg .b32 %r<9>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            ld.param.u32 %r1, [n];
            mov.u32 %r2, %tid.x;
            mov.u32 %r3, buf;
            shl.b32 %r4, %r2, 2;
            add.s32 %r5, %r3, %r4;
            setp.lt.u32 %p1, %r2, %r1;
            @%p1 st.shared.u32 [%r5], %r2;
            bar.sync 0;
            mov.u32 %r6, %ntid.x;
            sub.s32 %r6, %r6, 1;
            sub.s32 %r6, %r6, %r2;
            shl.b32 %r6, %r6, 2;
            add.s32 %r7, %r3, %r6;
            ld.shared.u32 %r8, [%r7];       // LOAD
            mul.wide.u32 %rd2, %r2, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.u32 [%rd3], %r8;
            ret;
        }
        """;

    [Test]
    public void ReadOfNeverWrittenSharedMemoryIsReported()
    {
        ulong d = Alloc<uint>(64);
        var f = Load(SharedReverse, "rev");
        // Only the first 60 threads fill their slot, but every thread reads its mirror slot.
        var e = Assert.Throws<EmulatorCheckException>(() => Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d).Add(60u)))!;
        Assert.That(e.Check, Is.EqualTo(EmulatorCheck.UninitializedSharedRead));
        Assert.That(e.Line, Is.EqualTo(LineOf(SharedReverse, "// LOAD")));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(0, 0, 0)), "thread 0 reads slot 63, which nobody wrote");
        // Corrected: every slot written.
        Launch(f, 1u, 64u, new KernelParameterBuffer().Add(d).Add(64u));
        Assert.That(Download<uint>(d, 64), Is.EqualTo(Enumerable.Range(0, 64).Select(i => (uint)(63 - i)).ToArray()));
    }

    // Each block takes a ticket from a counter: the order in which blocks ran.
    private const string Tickets = Kernels.Header + """
        .visible .entry tickets(.param .u64 counter_ptr, .param .u64 out_ptr)
        {
            .reg .b32 %r<3>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [counter_ptr];
            ld.param.u64 %rd2, [out_ptr];
            atom.global.add.u32 %r1, [%rd1], 1;
            mov.u32 %r2, %ctaid.x;
            mul.wide.u32 %rd3, %r2, 4;
            add.s64 %rd3, %rd2, %rd3;
            st.global.u32 [%rd3], %r1;
            ret;
        }
        """;

    private uint[] RunTickets(int blocks)
    {
        ulong counter = Alloc<uint>(1), output = Alloc<uint>(blocks);
        Launch(Load(Tickets, "tickets"), (uint)blocks, 1u, new KernelParameterBuffer().Add(counter).Add(output));
        return Download<uint>(output, blocks);
    }

    [Test]
    public void BlocksRunInterleavedInASeededOrderInCheckingMode()
    {
        const int blocks = 24;
        var identity = Enumerable.Range(0, blocks).Select(i => (uint)i).ToArray();
        var order = RunTickets(blocks);
        Assert.That(order.Order(), Is.EqualTo(identity), "every block ran once");
        Assert.That(order, Is.Not.EqualTo(identity), "blocks did not run one after another in index order");
        // Reproducible: the same seed and launch number give the same order.
        using (var again = new EmulatedCudaDriver())
        {
            var saved = Driver; Driver = again;
            try { Assert.That(RunTickets(blocks), Is.EqualTo(order)); }
            finally { Driver = saved; }
        }
        // Without checking mode, one worker runs blocks in index order.
        using var plain = new EmulatedCudaDriver(maxDegreeOfParallelism: 1) { Checking = false };
        var keep = Driver; Driver = plain;
        try { Assert.That(RunTickets(blocks), Is.EqualTo(identity)); }
        finally { Driver = keep; }
    }

    // Two barrier phases per block; each phase takes a ticket, so tickets show how phases interleave.
    private const string PhaseTickets = Kernels.Header + """
        .visible .entry phases(.param .u64 counter_ptr, .param .u64 out_ptr)
        {
            .reg .b32 %r<4>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [counter_ptr];
            ld.param.u64 %rd2, [out_ptr];
            mov.u32 %r2, %ctaid.x;
            mul.wide.u32 %rd3, %r2, 8;
            add.s64 %rd3, %rd2, %rd3;
            atom.global.add.u32 %r1, [%rd1], 1;
            st.global.u32 [%rd3], %r1;
            bar.sync 0;
            atom.global.add.u32 %r3, [%rd1], 1;
            st.global.u32 [%rd3+4], %r3;
            ret;
        }
        """;

    [Test]
    public void BarrierPhasesOfResidentBlocksInterleave()
    {
        const int blocks = 8;
        ulong counter = Alloc<uint>(1), output = Alloc<uint>(2 * blocks);
        Launch(Load(PhaseTickets, "phases"), (uint)blocks, 1u, new KernelParameterBuffer().Add(counter).Add(output));
        var t = Download<uint>(output, 2 * blocks);
        bool interleaved = false;
        for (int b = 0; b < blocks; b++)
        {
            Assert.That(t[2 * b + 1], Is.GreaterThan(t[2 * b]), "a block's phases run in order");
            if (t[2 * b + 1] != t[2 * b] + 1) interleaved = true;
        }
        Assert.That(interleaved, Is.True, "some block's second phase ran after another block's phase");
    }

    [TestCase("F32", "S32", 0UL)]
    [TestCase("F32", "U32", 0UL)]
    [TestCase("F32", "S16", 0UL)]
    [TestCase("F32", "U8", 0UL)]
    [TestCase("F32", "S64", 0x8000_0000_0000_0000UL)]
    [TestCase("F32", "U64", 0x8000_0000_0000_0000UL)]
    [TestCase("F64", "S32", 0x8000_0000UL)]
    [TestCase("F64", "U32", 0x8000_0000UL)]
    [TestCase("F64", "S16", 0x8000UL)]
    [TestCase("F64", "S64", 0x8000_0000_0000_0000UL)]
    [TestCase("F64", "U64", 0x8000_0000_0000_0000UL)]
    public void CvtOfNaNToIntegerFollowsTheIsa(string source, string destination, ulong expected)
    {
        var src = Enum.Parse<PtxType>(source);
        var dst = Enum.Parse<PtxType>(destination);
        ulong nan = src == PtxType.F32 ? BitConverter.SingleToUInt32Bits(float.NaN) : BitConverter.DoubleToUInt64Bits(double.NaN);
        foreach (var rounding in new[] { Rounding.Rni, Rounding.Rzi, Rounding.Rmi, Rounding.Rpi })
            Assert.That(BlockRunner.Convert(nan, dst, src, rounding, sat: false, dst.Size()), Is.EqualTo(expected), $"{rounding}");
        Assert.That(BlockRunner.Convert(nan, dst, src, Rounding.Rzi, sat: true, dst.Size()), Is.EqualTo(expected), ".sat changes nothing for NaN");
    }

    [TestCase(1e300, "S32", 0x7FFF_FFFFUL)]
    [TestCase(-1e300, "S32", 0x8000_0000UL)]
    [TestCase(1e300, "U32", 0xFFFF_FFFFUL)]
    [TestCase(-5.0, "U32", 0UL)]
    [TestCase(1e300, "S64", 0x7FFF_FFFF_FFFF_FFFFUL)]
    [TestCase(-1e300, "S64", 0x8000_0000_0000_0000UL)]
    [TestCase(double.PositiveInfinity, "U64", 0xFFFF_FFFF_FFFF_FFFFUL)]
    [TestCase(70000.0, "S16", 0x7FFFUL)]
    public void CvtOfOutOfRangeFloatsSaturates(double x, string destination, ulong expected)
    {
        var dst = Enum.Parse<PtxType>(destination);
        Assert.That(BlockRunner.Convert(BitConverter.DoubleToUInt64Bits(x), dst, PtxType.F64, Rounding.Rzi, sat: false, dst.Size()), Is.EqualTo(expected));
    }

    private const string CvtNaNKernel = Kernels.Header + """
        .visible .entry cvtnan(.param .u64 out_ptr)
        {
            .reg .b32 %r<3>;
            .reg .b64 %rd<3>;
            .reg .f32 %f<2>;
            .reg .f64 %fd<2>;
            ld.param.u64 %rd1, [out_ptr];
            mov.f32 %f1, 0f7FC00000;
            mov.f64 %fd1, 0d7FF8000000000000;
            cvt.rzi.s32.f32 %r1, %f1;
            cvt.rni.s32.f64 %r2, %fd1;
            cvt.rzi.s64.f32 %rd2, %f1;
            st.global.u32 [%rd1], %r1;
            st.global.u32 [%rd1+4], %r2;
            st.global.u64 [%rd1+8], %rd2;
            ret;
        }
        """;

    [Test]
    public void CvtOfNaNInAKernel()
    {
        ulong d = Alloc<uint>(4);
        Launch(Load(CvtNaNKernel, "cvtnan"), 1u, 1u, new KernelParameterBuffer().Add(d));
        Assert.That(Download<uint>(d, 4), Is.EqualTo(new uint[] { 0, 0x8000_0000, 0, 0x8000_0000 }));
    }
}
