using Framework.Backends;
using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// Kernel tests on the emulated device 1, whose allocator does not cache: every storage is an exact
/// allocation, so the interpreter's bounds checks are exact. Each case runs the same backend method on
/// the CPU backend and on the emulated GPU and compares. Float64 agrees to ~1e-12 (the f64 exp/log are
/// within an ulp or two of .NET's); float32 to 2e-6 relative (results correctly rounded from f64 vs the
/// CPU's vectorised f32 maths, a few ulp); f32 sums allow 1e-6 of the sum of magnitudes, since the CPU
/// accumulates in f32 while the kernels accumulate in f64.
/// </summary>
public abstract class KernelEdgeTestBase
{
    protected static readonly Device Dev = Device.CudaEmulated(1);
    protected static readonly int[] EdgeSizes = [1, 31, 32, 33, 255, 256, 257, 1023, 1024, 1025];

    protected Backend Gpu = null!;
    protected Backend Cpu => BackendRegistry.Cpu;
    protected EmulatedCudaDriver Driver = null!;
    private TensorScope? _scope;

    [OneTimeSetUp]
    public void UncachedDevice()
    {
        var backend = EmulatedCuda.Backend(1);
        backend.Caching = false;
        Gpu = backend;
        Driver = (EmulatedCudaDriver)backend.Driver;
    }

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope?.Dispose();

    protected static Tensor Random(int[] shape, DType dtype, int seed, double lo = -2, double hi = 2)
    {
        var rng = new Random(seed);
        long n = 1;
        foreach (var s in shape) n *= s;
        var data = new double[n];
        for (long i = 0; i < n; i++)
            data[i] = dtype == DType.Int64 ? rng.Next((int)lo, (int)hi + 1) : lo + (hi - lo) * rng.NextDouble();
        var t = Tensor.FromArray(data, shape);
        if (dtype == DType.Float64) return t;
        using (t) return t.To(dtype);
    }

    protected static double[] Values(Tensor t) => t.To(DType.Float64).To(Device.Cpu).ToArray<double>();

    protected static Tensor EmptyCpu(int[] shape, DType dtype) => Tensor.Empty(shape, dtype, Device.Cpu);

    protected static Tensor EmptyGpu(int[] shape, DType dtype) => Tensor.Empty(shape, dtype, Dev);

    protected static void AssertClose(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        var e = Values(expected);
        var a = Values(actual);
        Assert.That(a.Length, Is.EqualTo(e.Length), $"{what}: length");
        for (int i = 0; i < e.Length; i++)
        {
            if (double.IsNaN(e[i]) && double.IsNaN(a[i])) continue;
            if (e[i] == a[i]) continue; // also equal infinities
            double tol = atol + rtol * Math.Abs(e[i]);
            if (!(Math.Abs(a[i] - e[i]) <= tol))
                Assert.Fail($"{what}: element {i} of {e.Length}: expected {e[i]:G17}, got {a[i]:G17} (tolerance {tol:G3})");
        }
    }

    protected static (double Rtol, double Atol) Tol(DType dtype) => dtype == DType.Float32 ? (2e-6, 1e-6) : (1e-12, 1e-14);
}
