using Framework.Cuda;
using Framework.Cuda.Native;

namespace Framework.Tests.OnCuda;

/// <summary>
/// A scripted stand-in for libcuda and cuBLAS under <see cref="NativeCudaDriver"/>: every call succeeds
/// unless <see cref="Fail"/> names it, in which case it returns the scripted status once. It records the
/// calls made, so a test can also see which calls the driver no longer attempts.
/// </summary>
internal sealed unsafe class FakeCudaCalls : ICudaCalls
{
    private ulong _nextPointer = 0x7000_0000_0000;
    private nint _nextHandle = 0x100;

    /// <summary>Entry point name (as CUDA spells it) -> statuses returned by its next calls, in order.</summary>
    public Dictionary<string, Queue<int>> Fail { get; } = [];

    /// <summary>Every call made, by CUDA name, in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>What <see cref="BlasLoadFailure"/> answers (null: cuBLAS loads).</summary>
    public string? BlasMissing { get; set; }

    /// <summary>Scripts <paramref name="call"/>'s next call to return <paramref name="error"/>.</summary>
    public void FailNext(string call, CudaError error)
    {
        if (!Fail.TryGetValue(call, out var q)) Fail[call] = q = new Queue<int>();
        q.Enqueue((int)error);
    }

    /// <summary>A driver over these calls, as <see cref="NativeCudaDriver.Open"/> would build it.</summary>
    public NativeCudaDriver Driver(bool blocking = false) =>
        new(this, 0, 0x42, new CudaDeviceInfo("fake GPU", 9, 0, 1UL << 30, 132, 1024, 48 * 1024, 32, 13000), blocking);

    private int Status(string call)
    {
        Calls.Add(call);
        return Fail.TryGetValue(call, out var q) && q.Count > 0 ? q.Dequeue() : 0;
    }

    public int CtxSetCurrent(IntPtr context) => Status("cuCtxSetCurrent");
    public int CtxSynchronize() => Status("cuCtxSynchronize");
    public int DevicePrimaryCtxRelease(int device) => Status("cuDevicePrimaryCtxRelease_v2");

    public int MemAlloc(ulong* pointer, nuint bytes)
    {
        *pointer = _nextPointer;
        _nextPointer += 1 << 20;
        return Status("cuMemAlloc_v2");
    }

    public int MemFree(ulong pointer) => Status("cuMemFree_v2");
    public int MemcpyHtoD(ulong destination, void* source, nuint bytes) => Status("cuMemcpyHtoD_v2");
    public int MemcpyDtoH(void* destination, ulong source, nuint bytes) => Status("cuMemcpyDtoH_v2");
    public int MemcpyDtoD(ulong destination, ulong source, nuint bytes) => Status("cuMemcpyDtoD_v2");
    public int MemsetD8(ulong destination, byte value, nuint count) => Status("cuMemsetD8_v2");
    public int MemsetD32(ulong destination, uint value, nuint count) => Status("cuMemsetD32_v2");

    public int ModuleLoadDataEx(IntPtr* module, byte* image, uint optionCount, int* options, IntPtr* optionValues)
    {
        *module = _nextHandle++;
        return Status("cuModuleLoadDataEx");
    }

    public int ModuleUnload(IntPtr module) => Status("cuModuleUnload");

    public int ModuleGetFunction(IntPtr* function, IntPtr module, byte* name)
    {
        *function = _nextHandle++;
        return Status("cuModuleGetFunction");
    }

    public int LaunchKernel(IntPtr function, Dim3 grid, Dim3 block, uint sharedBytes, IntPtr stream, IntPtr* extra) =>
        Status("cuLaunchKernel");

    public int StreamCreate(IntPtr* stream, uint flags)
    {
        *stream = _nextHandle++;
        return Status("cuStreamCreate");
    }

    public int StreamDestroy(IntPtr stream) => Status("cuStreamDestroy_v2");

    public string Describe(int status) => (CudaError)status switch
    {
        CudaError.IllegalAddress => "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered",
        CudaError.MisalignedAddress => "CUDA_ERROR_MISALIGNED_ADDRESS: misaligned address",
        CudaError.LaunchFailed => "CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure",
        CudaError.LaunchOutOfResources => "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: too many resources requested for launch",
        var e => $"CUDA_ERROR_{e}: fake",
    };

    public string? BlasLoadFailure()
    {
        Calls.Add("dlopen cublas");
        return BlasMissing;
    }

    public int BlasCreate(IntPtr* handle)
    {
        *handle = _nextHandle++;
        return Status("cublasCreate_v2");
    }

    public int BlasDestroy(IntPtr handle) => Status("cublasDestroy_v2");
    public int BlasSetStream(IntPtr handle, IntPtr stream) => Status("cublasSetStream_v2");

    public int Sgemm(IntPtr handle, int transa, int transb, int m, int n, int k, float* alpha, ulong a, int lda, ulong b, int ldb,
        float* beta, ulong c, int ldc) => Status("cublasSgemm_v2");

    public int SgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, float* alpha, ulong a, int lda,
        long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount) =>
        Status("cublasSgemmStridedBatched");

    public int Dgemm(IntPtr handle, int transa, int transb, int m, int n, int k, double* alpha, ulong a, int lda, ulong b, int ldb,
        double* beta, ulong c, int ldc) => Status("cublasDgemm_v2");

    public int DgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, double* alpha, ulong a, int lda,
        long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC, int batchCount) =>
        Status("cublasDgemmStridedBatched");
}
