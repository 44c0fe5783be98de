using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Framework.Backends.Cpu;

namespace Benchmarks;

/// <summary>
/// Square Sgemm C = A B at 256, 512, 1024 (the PyTorch anchor's shapes). Floor: GFLOP/s against
/// PyTorch+OpenBLAS from ../shared/anchors/torch_ops_cpu.py run in the same session.
/// </summary>
[Config(typeof(GflopsConfig))]
public unsafe class GemmBenchmarks
{
    float* a, b, c;

    /// <summary>Matrix size: M = N = K.</summary>
    [Params(256, 512, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        a = GemmBenchData.Alloc<float>(N * N);
        b = GemmBenchData.Alloc<float>(N * N);
        c = GemmBenchData.Alloc<float>(N * N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(a);
        NativeMemory.AlignedFree(b);
        NativeMemory.AlignedFree(c);
    }

    [Benchmark]
    public void Sgemm() => Gemm.Sgemm(false, false, N, N, N, a, N, b, N, c, N, accumulate: false);
}

/// <summary>
/// The other shapes autograd uses, at 512: transposed operands (backward of matmul), float64, and a
/// batch of small matrices (attention-style batched matmul, parallel over the batch).
/// </summary>
[Config(typeof(GflopsConfig))]
public unsafe class GemmVariantBenchmarks
{
    const int N = 512, Batch = 256, S = 32;
    float* a, b, c;
    double* da, db, dc;

    [GlobalSetup]
    public void Setup()
    {
        a = GemmBenchData.Alloc<float>(N * N);
        b = GemmBenchData.Alloc<float>(N * N);
        c = GemmBenchData.Alloc<float>(N * N);
        da = GemmBenchData.Alloc<double>(N * N);
        db = GemmBenchData.Alloc<double>(N * N);
        dc = GemmBenchData.Alloc<double>(N * N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (nint p in new[] { (nint)a, (nint)b, (nint)c, (nint)da, (nint)db, (nint)dc })
            NativeMemory.AlignedFree((void*)p);
    }

    /// <summary>dA = dC B^T: 2 N^3 flops.</summary>
    [Benchmark]
    public void SgemmTransB512() => Gemm.Sgemm(false, true, N, N, N, a, N, b, N, c, N, accumulate: false);

    /// <summary>dB += A^T dC: 2 N^3 flops.</summary>
    [Benchmark]
    public void SgemmTransAAccumulate512() => Gemm.Sgemm(true, false, N, N, N, a, N, b, N, c, N, accumulate: true);

    /// <summary>Float64 product: 2 N^3 flops.</summary>
    [Benchmark]
    public void Dgemm512() => Gemm.Dgemm(false, false, N, N, N, da, N, db, N, dc, N, accumulate: false);

    /// <summary>256 products of 32x32x32 (256 * 2 * 32^3 flops).</summary>
    [Benchmark]
    public void SgemmBatched256x32() => Gemm.SgemmBatched(false, false, S, S, S, a, S, S * S, b, S, S * S, c, S, S * S,
        Batch, accumulate: false);
}

static unsafe class GemmBenchData
{
    public static T* Alloc<T>(int length) where T : unmanaged, System.Numerics.INumber<T>
    {
        T* p = (T*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(T)), 64);
        var rng = new Random(42);
        for (int i = 0; i < length; i++) p[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return p;
    }
}

/// <summary>Adds a GFLOP/s column: 2 M N K / mean time, with M N K taken from the benchmark.</summary>
sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig() => AddColumn(new GflopsColumn("2*M*N*K / mean time, in 1e9 floating-point operations per second",
        benchmarkCase => benchmarkCase.Descriptor.WorkloadMethod.Name switch
        {
            "Sgemm" => 2.0 * Math.Pow(Convert.ToDouble(benchmarkCase.Parameters["N"]), 3),
            "SgemmBatched256x32" => 2.0 * 256 * 32 * 32 * 32,
            _ => 2.0 * 512 * 512 * 512,
        }));
}
