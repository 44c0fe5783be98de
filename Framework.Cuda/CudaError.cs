namespace Framework.Cuda;

/// <summary>
/// Driver error codes. The numeric values are the CUDA driver's <c>CUresult</c> values so a native
/// implementation can cast the status it receives without a translation table.
/// </summary>
public enum CudaError
{
    /// <summary>CUDA_SUCCESS.</summary>
    Success = 0,
    /// <summary>CUDA_ERROR_INVALID_VALUE: an argument is out of range.</summary>
    InvalidValue = 1,
    /// <summary>CUDA_ERROR_OUT_OF_MEMORY.</summary>
    OutOfMemory = 2,
    /// <summary>CUDA_ERROR_NOT_INITIALIZED.</summary>
    NotInitialized = 3,
    /// <summary>CUDA_ERROR_NO_DEVICE.</summary>
    NoDevice = 100,
    /// <summary>CUDA_ERROR_INVALID_IMAGE.</summary>
    InvalidImage = 200,
    /// <summary>CUDA_ERROR_INVALID_HANDLE: a module, function or stream handle is unknown.</summary>
    InvalidHandle = 400,
    /// <summary>CUDA_ERROR_NOT_FOUND: e.g. no kernel of that name in the module.</summary>
    NotFound = 500,
    /// <summary>CUDA_ERROR_INVALID_PTX: the JIT rejected the PTX text.</summary>
    InvalidPtx = 218,
    /// <summary>CUDA_ERROR_ILLEGAL_ADDRESS: a kernel accessed memory outside any allocation (sticky: the context is unusable after it).</summary>
    IllegalAddress = 700,
    /// <summary>CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: too many threads, registers or shared bytes.</summary>
    LaunchOutOfResources = 701,
    /// <summary>CUDA_ERROR_LAUNCH_TIMEOUT: a kernel ran past the watchdog (sticky).</summary>
    LaunchTimeout = 702,
    /// <summary>CUDA_ERROR_ASSERT: a device-side assert fired (sticky).</summary>
    Assert = 710,
    /// <summary>CUDA_ERROR_HARDWARE_STACK_ERROR: a kernel corrupted its call stack (sticky).</summary>
    HardwareStackError = 714,
    /// <summary>CUDA_ERROR_ILLEGAL_INSTRUCTION (sticky).</summary>
    IllegalInstruction = 715,
    /// <summary>CUDA_ERROR_MISALIGNED_ADDRESS (sticky).</summary>
    MisalignedAddress = 716,
    /// <summary>CUDA_ERROR_INVALID_ADDRESS_SPACE: e.g. a shared-memory instruction on a global address (sticky).</summary>
    InvalidAddressSpace = 717,
    /// <summary>CUDA_ERROR_INVALID_PC: the program counter left the kernel (sticky).</summary>
    InvalidPc = 718,
    /// <summary>CUDA_ERROR_LAUNCH_FAILED: any other failure while a kernel ran (sticky).</summary>
    LaunchFailed = 719,
    /// <summary>A cuBLAS call failed (the native layer maps cublasStatus_t onto this).</summary>
    BlasFailed = 10000,
}
