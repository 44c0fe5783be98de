using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Framework.Cuda.Native;

namespace Framework.Cuda;

/// <summary>
/// <see cref="ICudaDriver"/> over the NVIDIA driver (<c>libcuda.so.1</c> / <c>nvcuda.dll</c>) and cuBLAS 13
/// or 12 (<c>libcublas.so.13</c>, <c>libcublas.so.12</c> / <c>cublas64_13.dll</c>, <c>cublas64_12.dll</c>,
/// found by a resolver, see <see cref="NativeLibraries"/>), bound with source-generated P/Invoke. Uses the
/// device's primary context (what cuBLAS and the runtime use, so pointers and streams are shared) and
/// makes it current on the calling thread before each call. cuBLAS is loaded on the first GEMM, so
/// elementwise work needs only the driver (the <see cref="Probe"/> still requires it: the tests and the
/// samples need matrix products). Every call goes through a check that names the call and the driver's
/// error name and text; module loads carry the JIT error log; kernel faults name the kernel and, once
/// the context is poisoned by one, every later call names that original fault
/// (<see cref="CudaFaultTracker"/>). With <c>FRAMEWORK_CUDA_LAUNCH_BLOCKING=1</c> (or
/// <c>CUDA_LAUNCH_BLOCKING=1</c>) every launch synchronizes, so a fault names its kernel exactly.
/// </summary>
public sealed unsafe class NativeCudaDriver : ICudaDriver
{
    private readonly ICudaCalls _calls;
    private readonly CudaFaultTracker _faults;
    private readonly int _device;
    private readonly IntPtr _context;
    private IntPtr _blas;
    private readonly Lock _blasGate = new();
    // Names for error messages: module handle -> its name, function handle -> "'kernel' (module)".
    private readonly ConcurrentDictionary<nint, string> _moduleNames = new(), _kernelNames = new();
    private bool _disposed;

    internal NativeCudaDriver(ICudaCalls calls, int device, IntPtr context, CudaDeviceInfo info, bool launchBlocking)
    {
        _calls = calls;
        _faults = new CudaFaultTracker(calls.Describe, launchBlocking);
        _device = device;
        _context = context;
        Device = info;
    }

    /// <summary>
    /// Why device <paramref name="ordinal"/> cannot be used (no driver library, driver too old for the
    /// kernels' PTX ISA, no device, ordinal out of range, no cuBLAS), or null when it can. Never throws.
    /// </summary>
    /// <param name="ordinal">The device ordinal.</param>
    public static string? Probe(int ordinal = 0)
    {
        try
        {
            using var driver = Open(ordinal);
            return NativeLibraries.BlasLoadFailure();
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Whether launches synchronize (<c>FRAMEWORK_CUDA_LAUNCH_BLOCKING=1</c> or <c>CUDA_LAUNCH_BLOCKING=1</c>
    /// when the device was opened), so that a kernel's fault is reported at its own launch, naming it.
    /// </summary>
    public bool LaunchBlocking => _faults.Blocking;

    /// <summary>Opens device <paramref name="ordinal"/>; throws <see cref="CudaException"/> with one clear message when it cannot.</summary>
    /// <param name="ordinal">The device ordinal.</param>
    /// <returns>The driver, owning a reference to the primary context.</returns>
    public static NativeCudaDriver Open(int ordinal = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        NativeLibraries.EnsureResolver();
        if (NativeLibraries.DriverFiles.Length == 0 || !NativeLibraries.TryLoad(NativeLibraries.DriverFiles))
            throw new CudaException(CudaError.NotInitialized, "dlopen",
                NativeLibraries.DriverFiles.Length == 0
                    ? $"CUDA is not available on {RuntimeInformation.OSDescription}; use Device.CudaEmulated(0) to run the PTX kernels in the interpreter"
                    : $"the NVIDIA driver library was not found (looked for {string.Join(", ", NativeLibraries.DriverFiles)}); " +
                      "install the NVIDIA GPU driver (no CUDA toolkit is needed), or use Device.CudaEmulated(0) to run the kernels in the interpreter");
        int status = CudaApi.cuInit(0);
        if (status == (int)CudaError.NoDevice)
            throw new CudaException(CudaError.NoDevice, "cuInit", $"the NVIDIA driver is installed but reports no CUDA device ({CudaApi.Describe(status)})");
        CudaApi.Check(status, "cuInit");
        int version, count, dev;
        CudaApi.Check(CudaApi.cuDriverGetVersion(&version), "cuDriverGetVersion");
        NativeLibraries.DriverVersion = version; // picks the cuBLAS major this driver can run
        var (isaMajor, isaMinor, needed) = KernelModules.RequiredDriver();
        if (version < needed)
            throw new CudaException(CudaError.InvalidPtx, "cuDriverGetVersion",
                $"the driver supports CUDA {version / 1000}.{version % 1000 / 10}, but the embedded kernels use PTX ISA {isaMajor}.{isaMinor}, " +
                $"which needs CUDA {needed / 1000}.{needed % 1000 / 10} or newer; update the NVIDIA driver");
        CudaApi.Check(CudaApi.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal >= count)
            throw new CudaException(CudaError.NoDevice, "cuDeviceGet", $"device ordinal {ordinal} requested, but the driver reports {count} CUDA device(s)");
        CudaApi.Check(CudaApi.cuDeviceGet(&dev, ordinal), "cuDeviceGet", $"ordinal {ordinal}");
        var info = Query(dev, version);
        int target = KernelModules.RequiredTarget();
        if (info.ComputeCapabilityMajor * 10 + info.ComputeCapabilityMinor < target)
            throw new CudaException(CudaError.InvalidPtx, "cuDeviceGetAttribute",
                $"{info.Name} has compute capability {info.ComputeCapabilityMajor}.{info.ComputeCapabilityMinor}, but the embedded kernels target " +
                $"sm_{target} (compute capability {target / 10}.{target % 10} or newer, the oldest that CUDA 13 supports); use Device.CudaEmulated(0) on this machine");
        IntPtr ctx;
        CudaApi.Check(CudaApi.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
        CudaApi.Check(CudaApi.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
        bool blocking = CudaFaultTracker.BlockingRequested(Environment.GetEnvironmentVariable);
        return new NativeCudaDriver(NativeCudaCalls.Instance, dev, ctx, info, blocking);
    }

    private static CudaDeviceInfo Query(int dev, int version)
    {
        byte* name = stackalloc byte[256];
        CudaApi.Check(CudaApi.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        nuint total;
        CudaApi.Check(CudaApi.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem_v2");
        int Attr(int a)
        {
            int v;
            CudaApi.Check(CudaApi.cuDeviceGetAttribute(&v, a, dev), "cuDeviceGetAttribute", $"attribute {a}");
            return v;
        }
        return new CudaDeviceInfo(Marshal.PtrToStringUTF8((IntPtr)name) ?? "CUDA device",
            Attr(CudaApi.AttrComputeCapabilityMajor), Attr(CudaApi.AttrComputeCapabilityMinor), total,
            Attr(CudaApi.AttrMultiprocessorCount), Attr(CudaApi.AttrMaxThreadsPerBlock), Attr(CudaApi.AttrMaxSharedMemoryPerBlock),
            Attr(CudaApi.AttrWarpSize), version);
    }

    /// <inheritdoc />
    public CudaDeviceInfo Device { get; }

    /// <summary>
    /// Before each call: fails at once, naming the original fault, when a sticky error has poisoned the
    /// context; otherwise makes the primary context current on this thread (contexts are per thread).
    /// </summary>
    private void Enter(string call)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _faults.ThrowIfPoisoned(call);
        Check(_calls.CtxSetCurrent(_context), "cuCtxSetCurrent");
    }

    private void Check(int status, string call, string? context = null) => _faults.Check(status, call, context);

    /// <inheritdoc />
    public ulong Allocate(ulong bytes)
    {
        Enter("cuMemAlloc_v2");
        ulong p;
        Check(_calls.MemAlloc(&p, (nuint)bytes), "cuMemAlloc_v2", $"{bytes} bytes");
        return p;
    }

    /// <inheritdoc />
    public void Free(ulong devicePointer)
    {
        Enter("cuMemFree_v2");
        Check(_calls.MemFree(devicePointer), "cuMemFree_v2", $"0x{devicePointer:X}");
    }

    /// <inheritdoc />
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source)
    {
        Enter("cuMemcpyHtoD_v2");
        fixed (byte* s = source) Check(_calls.MemcpyHtoD(destination, s, (nuint)source.Length), "cuMemcpyHtoD_v2", $"{source.Length} bytes");
    }

    /// <inheritdoc />
    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        Enter("cuMemcpyDtoH_v2");
        fixed (byte* d = destination) Check(_calls.MemcpyDtoH(d, source, (nuint)destination.Length), "cuMemcpyDtoH_v2", $"{destination.Length} bytes");
    }

    /// <inheritdoc />
    public void CopyDeviceToDevice(ulong destination, ulong source, ulong bytes)
    {
        Enter("cuMemcpyDtoD_v2");
        Check(_calls.MemcpyDtoD(destination, source, (nuint)bytes), "cuMemcpyDtoD_v2", $"{bytes} bytes");
    }

    /// <inheritdoc />
    public void MemsetD8(ulong destination, byte value, ulong count)
    {
        Enter("cuMemsetD8_v2");
        Check(_calls.MemsetD8(destination, value, (nuint)count), "cuMemsetD8_v2");
    }

    /// <inheritdoc />
    public void MemsetD32(ulong destination, uint value, ulong count)
    {
        Enter("cuMemsetD32_v2");
        Check(_calls.MemsetD32(destination, value, (nuint)count), "cuMemsetD32_v2");
    }

    /// <inheritdoc />
    public CudaModule LoadModule(string ptx, string name)
    {
        Enter("cuModuleLoadDataEx");
        var image = Encoding.UTF8.GetBytes(ptx + "\0");
        const int logSize = 16 * 1024;
        var log = new byte[logSize];
        IntPtr module;
        int status;
        fixed (byte* img = image)
        fixed (byte* logBuffer = log)
        {
            int* options = stackalloc int[] { CudaApi.JitErrorLogBuffer, CudaApi.JitErrorLogBufferSize };
            IntPtr* values = stackalloc IntPtr[] { (IntPtr)logBuffer, logSize };
            status = _calls.ModuleLoadDataEx(&module, img, 2, options, values);
        }
        if (status != 0 && !CudaFaultTracker.IsSticky((CudaError)status))
        {
            int end = Array.IndexOf(log, (byte)0);
            string jitLog = Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end).Trim();
            throw new CudaException((CudaError)status, "cuModuleLoadDataEx",
                $"{_calls.Describe(status)} loading {name}" + (jitLog.Length > 0 ? $"; JIT log:\n{jitLog}" : " (the JIT log is empty)"), jitLog);
        }
        Check(status, "cuModuleLoadDataEx", $"loading {name}");
        _moduleNames[module] = name;
        return new CudaModule(module);
    }

    /// <inheritdoc />
    public void UnloadModule(CudaModule module)
    {
        Enter("cuModuleUnload");
        Check(_calls.ModuleUnload(module.Handle), "cuModuleUnload");
        _moduleNames.TryRemove(module.Handle, out _);
    }

    /// <inheritdoc />
    public CudaFunction GetFunction(CudaModule module, string name)
    {
        Enter("cuModuleGetFunction");
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        IntPtr fn;
        fixed (byte* n = bytes) Check(_calls.ModuleGetFunction(&fn, module.Handle, n), "cuModuleGetFunction", $"kernel '{name}'");
        _kernelNames[fn] = _moduleNames.TryGetValue(module.Handle, out var m) ? $"'{name}' ({m})" : $"'{name}'";
        return new CudaFunction(fn);
    }

    private string KernelName(CudaFunction function) =>
        _kernelNames.TryGetValue(function.Handle, out var n) ? n : $"kernel 0x{function.Handle:X}";

    /// <inheritdoc />
    public void Launch(CudaFunction function, Dim3 grid, Dim3 block, uint dynamicSharedBytes, CudaStream stream, ReadOnlySpan<byte> parameters)
    {
        Enter("cuLaunchKernel");
        string launch = $"{KernelName(function)}, grid {grid}, block {block}";
        // The packed buffer goes in through `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE / _END).
        nuint size = (nuint)parameters.Length;
        byte dummy = 0;
        fixed (byte* p = parameters)
        {
            IntPtr* extra = stackalloc IntPtr[] { 1, (IntPtr)(p == null ? &dummy : p), 2, (IntPtr)(&size), 0 };
            // A sticky status here comes from an earlier kernel (the tracker blames the last one launched);
            // any other names this launch.
            Check(_calls.LaunchKernel(function.Handle, grid, block, dynamicSharedBytes, stream.Handle, extra), "cuLaunchKernel",
                $"kernel {launch}, {dynamicSharedBytes} shared bytes");
        }
        _faults.Launched(launch);
        if (_faults.Blocking) _faults.CheckCompleted(_calls.CtxSynchronize(), launch);
    }

    /// <inheritdoc />
    public CudaStream CreateStream()
    {
        Enter("cuStreamCreate");
        IntPtr s;
        Check(_calls.StreamCreate(&s, 0), "cuStreamCreate");
        return new CudaStream(s);
    }

    /// <inheritdoc />
    public void DestroyStream(CudaStream stream)
    {
        Enter("cuStreamDestroy_v2");
        Check(_calls.StreamDestroy(stream.Handle), "cuStreamDestroy_v2");
    }

    /// <inheritdoc />
    public void Synchronize()
    {
        Enter("cuCtxSynchronize");
        Check(_calls.CtxSynchronize(), "cuCtxSynchronize");
    }

    private IntPtr Blas(string call)
    {
        Enter(call);
        lock (_blasGate) return _blas != IntPtr.Zero ? _blas : CreateBlas();
    }

    private IntPtr CreateBlas()
    {
        if (_calls.BlasLoadFailure() is { } why) throw new CudaException(CudaError.NotInitialized, "dlopen", why);
        IntPtr h;
        CublasApi.Check(_calls.BlasCreate(&h), "cublasCreate_v2", "creating the handle");
        CublasApi.Check(_calls.BlasSetStream(h, IntPtr.Zero), "cublasSetStream_v2", "default stream");
        return _blas = h;
    }

    /// <summary>
    /// After a cuBLAS call: a GEMM is a kernel launch too, so it becomes the suspect for a later fault,
    /// and in blocking mode it is synchronized and named if it faulted.
    /// </summary>
    private void AfterBlas(int status, string call, string detail)
    {
        CublasApi.Check(status, call, detail);
        string launch = $"{call} ({detail})";
        _faults.Launched(launch);
        if (_faults.Blocking) _faults.CheckCompleted(_calls.CtxSynchronize(), launch);
    }

    /// <inheritdoc />
    public void Sgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
    {
        var h = Blas("cublasSgemm_v2");
        AfterBlas(_calls.Sgemm(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc),
            "cublasSgemm_v2", $"m={m} n={n} k={k} lda={lda} ldb={ldb} ldc={ldc}");
    }

    /// <inheritdoc />
    public void SgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        var h = Blas("cublasSgemmStridedBatched");
        AfterBlas(_calls.SgemmStridedBatched(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, strideA, b, ldb, strideB,
            &beta, c, ldc, strideC, batchCount), "cublasSgemmStridedBatched", $"m={m} n={n} k={k} batch={batchCount}");
    }

    /// <inheritdoc />
    public void Dgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha, ulong a, int lda, ulong b, int ldb, double beta, ulong c, int ldc)
    {
        var h = Blas("cublasDgemm_v2");
        AfterBlas(_calls.Dgemm(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc),
            "cublasDgemm_v2", $"m={m} n={n} k={k} lda={lda} ldb={ldb} ldc={ldc}");
    }

    /// <inheritdoc />
    public void DgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, double beta, ulong c, int ldc, long strideC, int batchCount)
    {
        var h = Blas("cublasDgemmStridedBatched");
        AfterBlas(_calls.DgemmStridedBatched(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, strideA, b, ldb, strideB,
            &beta, c, ldc, strideC, batchCount), "cublasDgemmStridedBatched", $"m={m} n={n} k={k} batch={batchCount}");
    }

    /// <summary>Destroys the cuBLAS handle and releases the primary context (never throws, even after a fault).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_blas != IntPtr.Zero) _calls.BlasDestroy(_blas);
        _calls.DevicePrimaryCtxRelease(_device);
        _disposed = true;
    }
}
