using BenchmarkDotNet.Attributes;
using Framework;
using Framework.Backends;
using Framework.Cuda;

namespace Benchmarks.Cuda;

/// <summary>
/// The PTX kernels on a real GPU (<c>Device.Cuda(0)</c>). Bandwidth-bound kernels are measured against
/// the floor in the same run: a device-to-device copy (<c>cuMemcpyDtoD</c>) of 2 x 64 MiB, i.e. the
/// same bytes an elementwise add moves (read 2 x N x 4, write N x 4 = 3 x 64 MiB for N = 16M; the copy
/// moves 2 x 64 MiB, so add at the floor takes 1.5x the copy). Matmul is reported as GFLOP/s = 2 MNK / time.
/// Every benchmark synchronises, so the time is the GPU's. Without a GPU, run it with
/// <c>dotnet run -c Release --project Benchmarks -- cuda</c>, which prints why it is skipped.
/// </summary>
[MemoryDiagnoser]
public class CudaKernelBenchmarks
{
    private const int N = 16 << 20, Rows = 4096, Cols = 1024, M = 1024;
    private CudaBackend _gpu = null!;
    private Tensor _a = null!, _b = null!, _c = null!, _x = null!, _y = null!, _r = null!, _ma = null!, _mb = null!, _mc = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (NativeCudaDriver.Probe(0) is { } why) throw new InvalidOperationException($"CUDA benchmarks need a GPU: {why}");
        CudaBackend.Register();
        var dev = Device.Cuda(0);
        _gpu = (CudaBackend)BackendRegistry.Get(dev);
        var g = new Generator(1);
        _a = Tensor.Randn([N], g, DType.Float32, dev);
        _b = Tensor.Randn([N], g, DType.Float32, dev);
        _c = Tensor.Zeros([N], DType.Float32, dev);
        _x = Tensor.Randn([Rows, Cols], g, DType.Float32, dev);
        _y = Tensor.Zeros([Rows, Cols], DType.Float32, dev);
        _r = Tensor.Zeros([Rows, 1], DType.Float32, dev);
        _ma = Tensor.Randn([1, M, M], g, DType.Float32, dev);
        _mb = Tensor.Randn([1, M, M], g, DType.Float32, dev);
        _mc = Tensor.Zeros([1, M, M], DType.Float32, dev);
        _gpu.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _a, _b, _c, _x, _y, _r, _ma, _mb, _mc }) t?.Dispose();
    }

    /// <summary>The floor: a 64 MiB device-to-device copy (2 x 64 MiB of traffic).</summary>
    [Benchmark(Baseline = true)]
    public void CopyFloor()
    {
        _gpu.Copy(_a, _c);
        _gpu.Synchronize();
    }

    /// <summary><c>add_f32</c>, 16M elements, contiguous fast path (3 x 64 MiB of traffic).</summary>
    [Benchmark]
    public void AddF32()
    {
        _gpu.Binary(BinaryOp.Add, _a, _b, _c, 0, 0);
        _gpu.Synchronize();
    }

    /// <summary><c>exp_f32</c>, 16M elements (f64 maths inside: compute-bound on GPUs with slow f64).</summary>
    [Benchmark]
    public void ExpF32()
    {
        _gpu.Unary(UnaryOp.Exp, _a, _c, 0, 0);
        _gpu.Synchronize();
    }

    /// <summary><c>reduce_sum_f32</c> over rows of [4096, 1024].</summary>
    [Benchmark]
    public void RowSumF32()
    {
        _gpu.Reduce(ReduceOp.Sum, _x, [1], _r, null, false);
        _gpu.Synchronize();
    }

    /// <summary><c>softmax_f32</c> along the last dim of [4096, 1024].</summary>
    [Benchmark]
    public void SoftmaxF32()
    {
        _gpu.Softmax(_x, 1, _y, false);
        _gpu.Synchronize();
    }

    /// <summary>1024^3 <c>cublasSgemm</c> through the row-major mapping (2.1 GFLOP per call).</summary>
    [Benchmark]
    public void MatmulF32()
    {
        _gpu.Matmul(_ma, _mb, _mc, false, false, false);
        _gpu.Synchronize();
    }
}
