using Framework.Tests.Emulator;
using BenchmarkDotNet.Attributes;
using Framework.Cuda;
using Framework.Cuda.Emulator;

namespace Benchmarks.Emulator;

/// <summary>
/// Interpreter speed, so the cost of emulator tests can be planned. Each benchmark runs one launch on a
/// single worker thread (MaxDegreeOfParallelism = 1); the figure of merit is emulated
/// thread-instructions per second = <see cref="EmulatedCudaDriver.LastLaunch"/>.Instructions / time,
/// printed once per benchmark in the global setup. Target: 50 million per second on one core for
/// straight-line float code.
/// </summary>
[MemoryDiagnoser]
public class EmulatorSpeedBenchmarks
{
    private const string Header = ".version 7.0\n.target sm_70\n.address_size 64\n";

    /// <summary>Straight-line float code: a long unrolled chain of fma/mul/add per thread.</summary>
    private static readonly string FloatChain = Header + """
        .visible .entry chain(.param .u64 out_ptr)
        {
            .reg .b32 %r<4>;
            .reg .f32 %f<8>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out_ptr];
            mov.u32 %r1, %tid.x;
            cvt.rn.f32.u32 %f1, %r1;
            mov.f32 %f2, 0f3F800000;
            mov.f32 %f3, 0f3F000000;
        """ + string.Concat(Enumerable.Repeat("""
            fma.rn.f32 %f2, %f1, %f3, %f2;
            mul.rn.f32 %f4, %f2, %f3;
            add.rn.f32 %f1, %f4, %f3;
            sub.rn.f32 %f3, %f1, %f2;

        """, 64)) + """
            mov.u32 %r2, %ctaid.x;
            mov.u32 %r3, %ntid.x;
            mad.lo.s32 %r1, %r2, %r3, %r1;
            mul.wide.u32 %rd2, %r1, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.f32 [%rd3], %f1;
            ret;
        }
        """;

    /// <summary>
    /// The driver's checking mode (the default, and what the tests run): blocks interleaved on one
    /// thread, global race tracking. Off: the plain interpreter (still one worker here).
    /// </summary>
    [Params(true, false)]
    public bool Checking { get; set; }

    private EmulatedCudaDriver _driver = null!;
    private CudaFunction _vadd, _reduce, _chain;
    private byte[] _vaddArgs = null!, _reduceArgs = null!, _chainArgs = null!;
    private const int N = 1 << 16;

    /// <summary>Loads the kernels and buffers, and prints instructions per launch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _driver = new EmulatedCudaDriver(maxDegreeOfParallelism: 1) { Checking = Checking };
        _vadd = _driver.GetFunction(_driver.LoadModule(Kernels.VectorAdd, "vadd.ptx"), "vadd");
        _reduce = _driver.GetFunction(_driver.LoadModule(Kernels.BlockSum, "reduce.ptx"), "block_sum");
        _chain = _driver.GetFunction(_driver.LoadModule(FloatChain, "chain.ptx"), "chain");
        ulong a = _driver.Allocate(N * 4), b = _driver.Allocate(N * 4), c = _driver.Allocate(N * 4);
        _driver.MemsetD32(a, BitConverter.SingleToUInt32Bits(1f), N);
        _driver.MemsetD32(b, BitConverter.SingleToUInt32Bits(2f), N);
        _vaddArgs = new KernelParameterBuffer().Add(a).Add(b).Add(c).Add((uint)N).Bytes.ToArray();
        _reduceArgs = new KernelParameterBuffer().Add(a).Add(c).Add((uint)N).Bytes.ToArray();
        _chainArgs = new KernelParameterBuffer().Add(c).Bytes.ToArray();
        foreach (var (name, run) in new (string, Action)[] { ("VectorAdd", VectorAdd), ("BlockReduction", BlockReduction), ("FloatChain", StraightLineFloat) })
        {
            run();
            // Launches run on this thread (one worker), so the process's CPU time is the interpreter's,
            // and instructions per CPU-second stay meaningful when a loaded machine stretches wall time.
            var process = System.Diagnostics.Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int reps = 0;
            while (sw.ElapsedMilliseconds < 500) { run(); reps++; }
            double wall = sw.Elapsed.TotalSeconds;
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            double total = _driver.LastLaunch.Instructions * (double)reps;
            Console.WriteLine($"// {name} (checking {(Checking ? "on" : "off")}): {_driver.LastLaunch.Instructions:N0} thread-instructions per launch, "
                + $"~{total / wall / 1e6:F1} M/s wall, ~{total / cpu / 1e6:F1} M per CPU-second");
        }
    }

    /// <summary>Grid-stride vector add over 65536 floats (256 blocks of 256).</summary>
    [Benchmark]
    public void VectorAdd() => _driver.Launch(_vadd, 64u, 256u, 0, CudaStream.Default, _vaddArgs);

    /// <summary>Shared-memory tree reduction, 256 blocks of 256 threads.</summary>
    [Benchmark]
    public void BlockReduction() => _driver.Launch(_reduce, 256u, 256u, 256 * 4, CudaStream.Default, _reduceArgs);

    /// <summary>256 dependent f32 instructions per thread, 64 blocks of 256.</summary>
    [Benchmark]
    public void StraightLineFloat() => _driver.Launch(_chain, 64u, 256u, 0, CudaStream.Default, _chainArgs);
}
