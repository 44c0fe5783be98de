using System.Runtime.InteropServices;
using System.Text;
using Framework.Cuda.Native;

namespace Framework.Cuda;

/// <summary>
/// <see cref="ICudaDriver"/> over the NVIDIA driver (<c>libcuda.so.1</c> / <c>nvcuda.dll</c>) and cuBLAS 12
/// (<c>libcublas.so.12</c> / <c>cublas64_12.dll</c>), bound with source-generated P/Invoke. Uses the
/// device's primary context (what cuBLAS and the runtime use, so pointers and streams are shared) and
/// makes it current on the calling thread before each call. cuBLAS is loaded on the first GEMM, so
/// elementwise work needs only the driver. Every call goes through a check that names the call and the
/// driver's error name and text; module loads carry the JIT error log.
/// </summary>
public sealed unsafe class NativeCudaDriver : ICudaDriver
{
    private readonly int _device;
    private readonly IntPtr _context;
    private IntPtr _blas;
    private readonly Lock _blasGate = new();
    private bool _disposed;

    private NativeCudaDriver(int device, IntPtr context, CudaDeviceInfo info)
    {
        _device = device;
        _context = context;
        Device = info;
    }

    /// <summary>
    /// Why device <paramref name="ordinal"/> cannot be used (no driver library, driver too old for the
    /// kernels' PTX ISA, no device, ordinal out of range), or null when it can. Never throws.
    /// </summary>
    /// <param name="ordinal">The device ordinal.</param>
    public static string? Probe(int ordinal = 0)
    {
        try
        {
            using var driver = Open(ordinal);
            return null;
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException)
        {
            return e.Message;
        }
    }

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
        return new NativeCudaDriver(dev, ctx, info);
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

    /// <summary>Makes the primary context current on this thread (contexts are per thread).</summary>
    private void Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CudaApi.Check(CudaApi.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
    }

    /// <inheritdoc />
    public ulong Allocate(ulong bytes)
    {
        Enter();
        ulong p;
        CudaApi.Check(CudaApi.cuMemAlloc(&p, (nuint)bytes), "cuMemAlloc_v2", $"{bytes} bytes");
        return p;
    }

    /// <inheritdoc />
    public void Free(ulong devicePointer)
    {
        Enter();
        CudaApi.Check(CudaApi.cuMemFree(devicePointer), "cuMemFree_v2", $"0x{devicePointer:X}");
    }

    /// <inheritdoc />
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source)
    {
        Enter();
        fixed (byte* s = source) CudaApi.Check(CudaApi.cuMemcpyHtoD(destination, s, (nuint)source.Length), "cuMemcpyHtoD_v2", $"{source.Length} bytes");
    }

    /// <inheritdoc />
    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        Enter();
        fixed (byte* d = destination) CudaApi.Check(CudaApi.cuMemcpyDtoH(d, source, (nuint)destination.Length), "cuMemcpyDtoH_v2", $"{destination.Length} bytes");
    }

    /// <inheritdoc />
    public void CopyDeviceToDevice(ulong destination, ulong source, ulong bytes)
    {
        Enter();
        CudaApi.Check(CudaApi.cuMemcpyDtoD(destination, source, (nuint)bytes), "cuMemcpyDtoD_v2", $"{bytes} bytes");
    }

    /// <inheritdoc />
    public void MemsetD8(ulong destination, byte value, ulong count)
    {
        Enter();
        CudaApi.Check(CudaApi.cuMemsetD8(destination, value, (nuint)count), "cuMemsetD8_v2");
    }

    /// <inheritdoc />
    public void MemsetD32(ulong destination, uint value, ulong count)
    {
        Enter();
        CudaApi.Check(CudaApi.cuMemsetD32(destination, value, (nuint)count), "cuMemsetD32_v2");
    }

    /// <inheritdoc />
    public CudaModule LoadModule(string ptx, string name)
    {
        Enter();
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
            status = CudaApi.cuModuleLoadDataEx(&module, img, 2, options, values);
        }
        if (status != 0)
        {
            int end = Array.IndexOf(log, (byte)0);
            string jitLog = Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end).Trim();
            throw new CudaException((CudaError)status, "cuModuleLoadDataEx",
                $"{CudaApi.Describe(status)} loading {name}" + (jitLog.Length > 0 ? $"; JIT log:\n{jitLog}" : " (the JIT log is empty)"), jitLog);
        }
        return new CudaModule(module);
    }

    /// <inheritdoc />
    public void UnloadModule(CudaModule module)
    {
        Enter();
        CudaApi.Check(CudaApi.cuModuleUnload(module.Handle), "cuModuleUnload");
    }

    /// <inheritdoc />
    public CudaFunction GetFunction(CudaModule module, string name)
    {
        Enter();
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        IntPtr fn;
        fixed (byte* n = bytes) CudaApi.Check(CudaApi.cuModuleGetFunction(&fn, module.Handle, n), "cuModuleGetFunction", $"kernel '{name}'");
        return new CudaFunction(fn);
    }

    /// <inheritdoc />
    public void Launch(CudaFunction function, Dim3 grid, Dim3 block, uint dynamicSharedBytes, CudaStream stream, ReadOnlySpan<byte> parameters)
    {
        Enter();
        // The packed buffer goes in through `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE / _END).
        nuint size = (nuint)parameters.Length;
        byte dummy = 0;
        fixed (byte* p = parameters)
        {
            IntPtr* extra = stackalloc IntPtr[] { 1, (IntPtr)(p == null ? &dummy : p), 2, (IntPtr)(&size), 0 };
            CudaApi.Check(CudaApi.cuLaunchKernel(function.Handle, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z,
                dynamicSharedBytes, stream.Handle, null, extra), "cuLaunchKernel", $"grid {grid}, block {block}, {dynamicSharedBytes} shared bytes");
        }
    }

    /// <inheritdoc />
    public CudaStream CreateStream()
    {
        Enter();
        IntPtr s;
        CudaApi.Check(CudaApi.cuStreamCreate(&s, 0), "cuStreamCreate");
        return new CudaStream(s);
    }

    /// <inheritdoc />
    public void DestroyStream(CudaStream stream)
    {
        Enter();
        CudaApi.Check(CudaApi.cuStreamDestroy(stream.Handle), "cuStreamDestroy_v2");
    }

    /// <inheritdoc />
    public void Synchronize()
    {
        Enter();
        CudaApi.Check(CudaApi.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    private IntPtr Blas()
    {
        Enter();
        lock (_blasGate) return _blas != IntPtr.Zero ? _blas : CreateBlas();
    }

    private IntPtr CreateBlas()
    {
        if (!NativeLibraries.TryLoad(NativeLibraries.BlasFiles))
            throw new CudaException(CudaError.NotInitialized, "dlopen",
                $"cuBLAS was not found (looked for {string.Join(", ", NativeLibraries.BlasFiles)}); matrix products need the cuBLAS 12 runtime " +
                "(e.g. the libcublas12 package or NVIDIA's CUDA 12 redistributable)");
        IntPtr h;
        CublasApi.Check(CublasApi.cublasCreate_v2(&h), "cublasCreate_v2", "creating the handle");
        CublasApi.Check(CublasApi.cublasSetStream_v2(h, IntPtr.Zero), "cublasSetStream_v2", "default stream");
        return _blas = h;
    }

    /// <inheritdoc />
    public void Sgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
    {
        var h = Blas();
        CublasApi.Check(CublasApi.cublasSgemm_v2(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc),
            "cublasSgemm_v2", $"m={m} n={n} k={k} lda={lda} ldb={ldb} ldc={ldc}");
    }

    /// <inheritdoc />
    public void SgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        var h = Blas();
        CublasApi.Check(CublasApi.cublasSgemmStridedBatched(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, strideA, b, ldb, strideB,
            &beta, c, ldc, strideC, batchCount), "cublasSgemmStridedBatched", $"m={m} n={n} k={k} batch={batchCount}");
    }

    /// <inheritdoc />
    public void Dgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha, ulong a, int lda, ulong b, int ldb, double beta, ulong c, int ldc)
    {
        var h = Blas();
        CublasApi.Check(CublasApi.cublasDgemm_v2(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc),
            "cublasDgemm_v2", $"m={m} n={n} k={k} lda={lda} ldb={ldb} ldc={ldc}");
    }

    /// <inheritdoc />
    public void DgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, double beta, ulong c, int ldc, long strideC, int batchCount)
    {
        var h = Blas();
        CublasApi.Check(CublasApi.cublasDgemmStridedBatched(h, (int)transA, (int)transB, m, n, k, &alpha, a, lda, strideA, b, ldb, strideB,
            &beta, c, ldc, strideC, batchCount), "cublasDgemmStridedBatched", $"m={m} n={n} k={k} batch={batchCount}");
    }

    /// <summary>Destroys the cuBLAS handle and releases the primary context reference.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_blas != IntPtr.Zero) CublasApi.cublasDestroy_v2(_blas);
        CudaApi.cuDevicePrimaryCtxRelease(_device);
        _disposed = true;
    }
}
