namespace Framework.Cuda.Native;

/// <summary>
/// The raw driver and cuBLAS calls <see cref="NativeCudaDriver"/> makes once a device is open, each
/// returning the library's own status code. It is the seam that lets the driver's logic (turning codes
/// into exceptions, blocking launches, sticky-fault tracking) be tested with a fake that returns any
/// code, without libcuda; <see cref="NativeCudaCalls"/> forwards to the source-generated P/Invokes.
/// </summary>
internal unsafe interface ICudaCalls
{
    int CtxSetCurrent(IntPtr context);
    int CtxSynchronize();
    int DevicePrimaryCtxRelease(int device);
    int MemAlloc(ulong* pointer, nuint bytes);
    int MemFree(ulong pointer);
    int MemcpyHtoD(ulong destination, void* source, nuint bytes);
    int MemcpyDtoH(void* destination, ulong source, nuint bytes);
    int MemcpyDtoD(ulong destination, ulong source, nuint bytes);
    int MemsetD8(ulong destination, byte value, nuint count);
    int MemsetD32(ulong destination, uint value, nuint count);
    int ModuleLoadDataEx(IntPtr* module, byte* image, uint optionCount, int* options, IntPtr* optionValues);
    int ModuleUnload(IntPtr module);
    int ModuleGetFunction(IntPtr* function, IntPtr module, byte* name);
    int LaunchKernel(IntPtr function, Dim3 grid, Dim3 block, uint sharedBytes, IntPtr stream, IntPtr* extra);
    int StreamCreate(IntPtr* stream, uint flags);
    int StreamDestroy(IntPtr stream);

    /// <summary>"CUDA_ERROR_X: text" for a driver status.</summary>
    string Describe(int status);

    /// <summary>Why cuBLAS cannot be loaded (files tried, what to install), or null when it loads.</summary>
    string? BlasLoadFailure();

    int BlasCreate(IntPtr* handle);
    int BlasDestroy(IntPtr handle);
    int BlasSetStream(IntPtr handle, IntPtr stream);
    int Sgemm(IntPtr handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);
    int SgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, float* alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC,
        int batchCount);
    int Dgemm(IntPtr handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);
    int DgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, double* alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC,
        int batchCount);
}

/// <summary>The real calls: the driver and cuBLAS through <see cref="CudaApi"/> and <see cref="CublasApi"/>.</summary>
internal sealed unsafe class NativeCudaCalls : ICudaCalls
{
    public static readonly NativeCudaCalls Instance = new();

    public int CtxSetCurrent(IntPtr context) => CudaApi.cuCtxSetCurrent(context);
    public int CtxSynchronize() => CudaApi.cuCtxSynchronize();
    public int DevicePrimaryCtxRelease(int device) => CudaApi.cuDevicePrimaryCtxRelease(device);
    public int MemAlloc(ulong* pointer, nuint bytes) => CudaApi.cuMemAlloc(pointer, bytes);
    public int MemFree(ulong pointer) => CudaApi.cuMemFree(pointer);
    public int MemcpyHtoD(ulong destination, void* source, nuint bytes) =>
        CudaApi.cuMemcpyHtoD(destination, source, bytes);
    public int MemcpyDtoH(void* destination, ulong source, nuint bytes) =>
        CudaApi.cuMemcpyDtoH(destination, source, bytes);
    public int MemcpyDtoD(ulong destination, ulong source, nuint bytes) =>
        CudaApi.cuMemcpyDtoD(destination, source, bytes);
    public int MemsetD8(ulong destination, byte value, nuint count) => CudaApi.cuMemsetD8(destination, value, count);
    public int MemsetD32(ulong destination, uint value, nuint count) => CudaApi.cuMemsetD32(destination, value, count);
    public int ModuleLoadDataEx(IntPtr* module, byte* image, uint optionCount, int* options, IntPtr* optionValues) =>
        CudaApi.cuModuleLoadDataEx(module, image, optionCount, options, optionValues);
    public int ModuleUnload(IntPtr module) => CudaApi.cuModuleUnload(module);
    public int ModuleGetFunction(IntPtr* function, IntPtr module, byte* name) =>
        CudaApi.cuModuleGetFunction(function, module, name);
    public int LaunchKernel(IntPtr function, Dim3 grid, Dim3 block, uint sharedBytes, IntPtr stream, IntPtr* extra) =>
        CudaApi.cuLaunchKernel(function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, stream,
            null, extra);
    public int StreamCreate(IntPtr* stream, uint flags) => CudaApi.cuStreamCreate(stream, flags);
    public int StreamDestroy(IntPtr stream) => CudaApi.cuStreamDestroy(stream);
    public string Describe(int status) => CudaApi.Describe(status);
    public string? BlasLoadFailure() => NativeLibraries.BlasLoadFailure();
    public int BlasCreate(IntPtr* handle) => CublasApi.cublasCreate_v2(handle);
    public int BlasDestroy(IntPtr handle) => CublasApi.cublasDestroy_v2(handle);
    public int BlasSetStream(IntPtr handle, IntPtr stream) => CublasApi.cublasSetStream_v2(handle, stream);

    public int Sgemm(IntPtr handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc) =>
        CublasApi.cublasSgemm_v2(handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public int SgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, float* alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC,
        int batchCount) =>
        CublasApi.cublasSgemmStridedBatched(handle, transa, transb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
            beta, c, ldc, strideC, batchCount);

    public int Dgemm(IntPtr handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc) =>
        CublasApi.cublasDgemm_v2(handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public int DgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, double* alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC,
        int batchCount) =>
        CublasApi.cublasDgemmStridedBatched(handle, transa, transb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
            beta, c, ldc, strideC, batchCount);
}
