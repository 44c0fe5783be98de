using System.Collections.Concurrent;
using Framework.Backends;

namespace Framework.Cuda;

/// <summary>
/// The CUDA backend over an <see cref="ICudaDriver"/>: the same code drives the native driver (a GPU)
/// and the emulated one (the PTX interpreter), so the emulator tests the real launch code. Kernels are
/// the handwritten PTX in <c>kernels/*.ptx</c>, embedded in this assembly, assembled once per device
/// and loaded on first use; functions are cached by name (<c>"{op}_{dtype}"</c>).
/// </summary>
public sealed partial class CudaBackend : Backend, IDisposable
{
    private readonly CudaAllocator _allocator;
    private readonly KernelModules _modules;
    private readonly ConcurrentDictionary<string, CudaFunction> _functions = new(StringComparer.Ordinal);

    /// <summary>Creates a backend for <paramref name="device"/> over <paramref name="driver"/>.</summary>
    /// <param name="driver">The driver; the backend owns it and disposes it.</param>
    /// <param name="device">The device tensors of this backend report.</param>
    /// <param name="caching">Whether the allocator keeps released blocks for reuse (see <see cref="Caching"/>).</param>
    public CudaBackend(ICudaDriver driver, Device device, bool caching = true)
    {
        ArgumentNullException.ThrowIfNull(driver);
        if (device.Type == DeviceType.Cpu) throw new ArgumentException("a CUDA backend needs a CUDA device, got cpu", nameof(device));
        Driver = driver;
        Device = device;
        _allocator = new CudaAllocator(driver, caching);
        _modules = new KernelModules(driver);
    }

    /// <summary>Registers the native backend for <see cref="DeviceType.Cuda"/> devices (opened on first use).</summary>
    public static void Register() =>
        BackendRegistry.Register(DeviceType.Cuda, index => new CudaBackend(NativeCudaDriver.Open(index), Framework.Device.Cuda(index)));

    /// <inheritdoc />
    public override Device Device { get; }

    /// <summary>The driver this backend launches on; an emulated driver exposes its counters here.</summary>
    public ICudaDriver Driver { get; }

    /// <summary>Bytes of device memory held by live storages (in allocator size-class bytes).</summary>
    public long AllocatedBytes => _allocator.AllocatedBytes;

    /// <summary>Bytes obtained from the driver: <see cref="AllocatedBytes"/> plus the allocator's cache.</summary>
    public long ReservedBytes => _allocator.ReservedBytes;

    /// <summary>
    /// Whether released memory is cached for reuse (the default). Off: every storage is an exact driver
    /// allocation freed on release, which lets the emulator check bounds exactly. Turning it off empties the cache.
    /// </summary>
    public bool Caching
    {
        get => _allocator.Caching;
        set => _allocator.Caching = value;
    }

    /// <summary>Returns the allocator's cached blocks to the driver (PyTorch's <c>empty_cache</c>).</summary>
    public void EmptyCache() => _allocator.EmptyCache();

    /// <summary>Waits for all queued work on the device.</summary>
    public void Synchronize() => Driver.Synchronize();

    /// <inheritdoc />
    public override Storage Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        return new CudaStorage(_allocator, Device, bytes);
    }

    /// <inheritdoc />
    public override void Upload(ReadOnlySpan<byte> host, Tensor dst)
    {
        if (host.Length == 0) return;
        Driver.CopyHostToDevice(DevicePtr(dst), host);
    }

    /// <inheritdoc />
    public override void Download(Tensor src, Span<byte> host)
    {
        if (host.Length == 0) return;
        Driver.CopyDeviceToHost(host, DevicePtr(src));
    }

    /// <summary>Device address of a tensor's first element: storage base + offset * element size.</summary>
    internal static ulong DevicePtr(Tensor t) =>
        ((CudaStorage)t.Storage).DevicePointer + (ulong)(t._offset * t.DType.ElementSize());

    /// <summary>Device address of an optional tensor, 0 when absent.</summary>
    internal static ulong DevicePtrOrZero(Tensor? t) => t is null ? 0 : DevicePtr(t);

    /// <summary>The kernel-name suffix of a dtype: f32, f64, s64.</summary>
    internal static string Suffix(DType dtype) => dtype switch
    {
        DType.Float32 => "f32",
        DType.Float64 => "f64",
        _ => "s64",
    };

    /// <summary>The cached function of a kernel, loading its module on first use.</summary>
    internal CudaFunction Function(string name) => _functions.GetOrAdd(name, static (n, m) => m.GetFunction(n), _modules);

    /// <summary>
    /// Launches kernel <paramref name="function"/> (an <c>.entry</c> name of any embedded module) on the
    /// default stream with the packed arguments. The launch API every kernel family uses.
    /// </summary>
    internal void Launch(string function, Dim3 grid, Dim3 block, uint sharedBytes, in KernelParameterBuffer args) =>
        Driver.Launch(Function(function), grid, block, sharedBytes, CudaStream.Default, args.Bytes);

    /// <summary>Blocks for a grid-stride launch over <paramref name="work"/> items: enough to fill the device, at most 4096.</summary>
    internal static uint GridFor(long work, int threadsPerBlock) =>
        (uint)Math.Clamp((work + threadsPerBlock - 1) / threadsPerBlock, 1, 4096);

    /// <summary>Frees the cached memory and the driver. Live storages must be released first.</summary>
    public void Dispose()
    {
        _allocator.EmptyCache();
        Driver.Dispose();
    }
}
