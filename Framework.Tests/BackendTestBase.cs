using Framework.Cuda.Emulator;
using Framework.Tests.OnCuda;
using NUnit.Framework;

namespace Framework.Tests;

/// <summary>
/// Base of the per-device fixtures: each test class is written once against <see cref="Device"/> and
/// runs once per entry of <see cref="TestDevices.All"/> (see TestDevices.cs for the pattern). Float32
/// tolerances are the fixtures' own on every device: the PTX kernels compute transcendental functions
/// and accumulate sums and norm statistics in f64 and round once, as the CPU backend does.
/// </summary>
public abstract class BackendTestBase
{
    private readonly Device? _device;

    /// <summary>A fixture built by <c>[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]</c>.</summary>
    /// <param name="device">The device every tensor of the fixture is created on.</param>
    protected BackendTestBase(Device device) => _device = device;

    /// <summary>
    /// The older pattern, kept so fixtures written elsewhere as an abstract class plus one subclass per
    /// device (each overriding <see cref="Device"/>) still compile until they are converted.
    /// </summary>
    protected BackendTestBase() { }

    /// <summary>The device every tensor of the fixture is created on.</summary>
    protected virtual Device Device => _device ?? throw new InvalidOperationException(
        $"{GetType().Name} has no device: expected [TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))] " +
        "and a constructor passing the device to BackendTestBase (or an override of Device)");

    private TensorScope? _scope;
    private bool? _cachingBefore;

    /// <summary>
    /// A native GPU fixture is ignored, with the driver's reason, where there is no GPU (never passing
    /// vacuously); an emulated one runs with the allocator's caching off, so every tensor is an exact
    /// allocation and the interpreter's bounds checks catch every overrun.
    /// </summary>
    [OneTimeSetUp]
    public void PrepareDevice()
    {
        if (Device.Type == DeviceType.Cuda) NativeGpu.RequireOrIgnore();
        if (Device.Type == DeviceType.CudaEmulated)
        {
            var backend = EmulatedCuda.Backend(Device.Index);
            _cachingBefore = backend.Caching;
            backend.Caching = false;
        }
    }

    [OneTimeTearDown]
    public void RestoreDevice()
    {
        if (_cachingBefore is { } caching) EmulatedCuda.Backend(Device.Index).Caching = caching;
    }

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope?.Dispose();

    protected Tensor T(double[] data, int[] shape, DType dtype = DType.Float64, bool requiresGrad = false)
    {
        using var host = Tensor.FromArray(data, shape);
        var t = host.To(dtype).To(Device);
        if (ReferenceEquals(t, host)) t = host.Clone();
        if (requiresGrad) t.RequiresGrad = true;
        return t;
    }

    protected Tensor T(float[] data, params int[] shape)
    {
        return Tensor.FromArray(data, shape, Device);
    }

    protected Tensor Randn(Generator g, int[] shape, DType dtype = DType.Float64, bool requiresGrad = false)
    {
        var t = Tensor.Randn(shape, g, dtype, Device);
        if (requiresGrad) t.RequiresGrad = true;
        return t;
    }

    protected static double[] D(Tensor t) => t.To(DType.Float64).ToArray<double>();

    protected static void AssertClose(double[] actual, double[] expected, double rtol, double atol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        for (int i = 0; i < actual.Length; i++)
        {
            double tol = atol + rtol * Math.Abs(expected[i]);
            if (double.IsNaN(expected[i]) && double.IsNaN(actual[i])) continue;
            if (!(Math.Abs(actual[i] - expected[i]) <= tol))
                Assert.Fail($"{what}: element {i}: expected {expected[i]:G10}, got {actual[i]:G10} (tolerance {tol:G3})");
        }
    }
}
