using System.Runtime.InteropServices;

namespace Framework.Cuda.Native;

/// <summary>The CUDA driver API entry points, bound to the <c>_v2</c> symbols the headers map to.</summary>
internal static unsafe partial class CudaApi
{
    private const string Lib = NativeLibraries.Driver;

    public const int AttrMaxThreadsPerBlock = 1, AttrMaxSharedMemoryPerBlock = 8, AttrWarpSize = 10,
        AttrMultiprocessorCount = 16, AttrComputeCapabilityMajor = 75, AttrComputeCapabilityMinor = 76;
    public const int JitInfoLogBuffer = 3, JitInfoLogBufferSize = 4, JitErrorLogBuffer = 5, JitErrorLogBufferSize = 6;

    [LibraryImport(Lib)] public static partial int cuInit(uint flags);
    [LibraryImport(Lib)] public static partial int cuDriverGetVersion(int* version);
    [LibraryImport(Lib)] public static partial int cuDeviceGetCount(int* count);
    [LibraryImport(Lib)] public static partial int cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Lib)] public static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")] public static partial int cuDeviceTotalMem(nuint* bytes, int device);
    [LibraryImport(Lib)] public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);
    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRetain(IntPtr* context, int device);
    [LibraryImport(Lib, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] public static partial int cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(Lib)] public static partial int cuCtxSetCurrent(IntPtr context);
    [LibraryImport(Lib)] public static partial int cuCtxSynchronize();
    [LibraryImport(Lib, EntryPoint = "cuMemAlloc_v2")] public static partial int cuMemAlloc(ulong* pointer, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemFree_v2")] public static partial int cuMemFree(ulong pointer);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoD_v2")] public static partial int cuMemcpyHtoD(ulong destination, void* source, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoH_v2")] public static partial int cuMemcpyDtoH(void* destination, ulong source, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoD_v2")] public static partial int cuMemcpyDtoD(ulong destination, ulong source, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemsetD8_v2")] public static partial int cuMemsetD8(ulong destination, byte value, nuint count);
    [LibraryImport(Lib, EntryPoint = "cuMemsetD32_v2")] public static partial int cuMemsetD32(ulong destination, uint value, nuint count);
    [LibraryImport(Lib)] public static partial int cuModuleLoadDataEx(IntPtr* module, byte* image, uint optionCount, int* options, IntPtr* optionValues);
    [LibraryImport(Lib)] public static partial int cuModuleUnload(IntPtr module);
    [LibraryImport(Lib)] public static partial int cuModuleGetFunction(IntPtr* function, IntPtr module, byte* name);
    [LibraryImport(Lib)] public static partial int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ,
        uint blockX, uint blockY, uint blockZ, uint sharedBytes, IntPtr stream, IntPtr* kernelParams, IntPtr* extra);
    [LibraryImport(Lib)] public static partial int cuStreamCreate(IntPtr* stream, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuStreamDestroy_v2")] public static partial int cuStreamDestroy(IntPtr stream);
    [LibraryImport(Lib)] public static partial int cuGetErrorName(int error, byte** name);
    [LibraryImport(Lib)] public static partial int cuGetErrorString(int error, byte** text);

    /// <summary>"CUDA_ERROR_X: text" for a driver status, from the driver itself.</summary>
    public static string Describe(int status)
    {
        byte* name = null, text = null;
        string n = cuGetErrorName(status, &name) == 0 && name != null ? Marshal.PtrToStringUTF8((IntPtr)name)! : $"CUresult {status}";
        string t = cuGetErrorString(status, &text) == 0 && text != null ? Marshal.PtrToStringUTF8((IntPtr)text)! : "unknown error";
        return $"{n}: {t}";
    }

    /// <summary>Throws <see cref="CudaException"/> naming <paramref name="call"/> and the driver's error name and text.</summary>
    public static void Check(int status, string call, string? context = null)
    {
        if (status == 0) return;
        throw new CudaException((CudaError)status, call, context is null ? Describe(status) : $"{Describe(status)} ({context})");
    }
}

/// <summary>cuBLAS 12 entry points (<c>_v2</c> where the header maps to one).</summary>
internal static unsafe partial class CublasApi
{
    private const string Lib = NativeLibraries.Blas;

    [LibraryImport(Lib)] public static partial int cublasCreate_v2(IntPtr* handle);
    [LibraryImport(Lib)] public static partial int cublasDestroy_v2(IntPtr handle);
    [LibraryImport(Lib)] public static partial int cublasSetStream_v2(IntPtr handle, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cublasSgemm_v2(IntPtr handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);
    [LibraryImport(Lib)] public static partial int cublasSgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);
    [LibraryImport(Lib)] public static partial int cublasDgemm_v2(IntPtr handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);
    [LibraryImport(Lib)] public static partial int cublasDgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC, int batchCount);

    /// <summary>The cublasStatus_t name of a status.</summary>
    public static string StatusName(int status) => status switch
    {
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => $"cublasStatus_t {status}",
    };

    /// <summary>Throws <see cref="CudaException"/> (<see cref="CudaError.BlasFailed"/>) naming the call and the status.</summary>
    public static void Check(int status, string call, string detail)
    {
        if (status != 0) throw new CudaException(CudaError.BlasFailed, call, $"{StatusName(status)} ({detail})");
    }
}
