using System.Runtime.InteropServices;

namespace Framework.Distributed;

/// <summary>
/// The NCCL calls the process group uses for CUDA tensors, bound with <c>LibraryImport</c> to
/// <c>libnccl.so.2</c>, plus <c>cuStreamQuery</c> from the driver to wait with a deadline. NCCL runs on the
/// legacy default stream (the one the CUDA backend launches on), in the primary context the backend retains.
/// </summary>
internal static unsafe partial class Nccl
{
    private const string Lib = "libnccl.so.2";
    private const string Cuda = "libcuda.so.1";

    public const int Success = 0;
    public const int InProgress = 7;
    public const int Int64 = 4, Float32 = 7, Float64 = 8;
    public const int OpSum = 0, OpMax = 2, OpAvg = 4;
    public const int CudaErrorNotReady = 600;

    /// <summary>ncclUniqueId: 128 opaque bytes that rank 0 makes and the others receive (here over MPI).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 128)]
    public struct UniqueId
    {
        private long _first;
    }

    private static readonly Lazy<string?> s_missing = new(() =>
    {
        if (!NativeLibrary.TryLoad(Lib, out _)) return $"{Lib} is not installed (NVIDIA's NCCL)";
        if (!NativeLibrary.TryLoad(Cuda, out _)) return $"{Cuda} is not installed (no NVIDIA driver)";
        return null;
    });

    /// <summary>Why NCCL cannot be used here, or null when it can.</summary>
    public static string? Missing => s_missing.Value;

    [LibraryImport(Lib, EntryPoint = "ncclGetUniqueId")]
    public static partial int GetUniqueId(UniqueId* id);

    [LibraryImport(Lib, EntryPoint = "ncclCommInitRank")]
    public static partial int CommInitRank(IntPtr* comm, int nranks, UniqueId id, int rank);

    [LibraryImport(Lib, EntryPoint = "ncclAllReduce")]
    public static partial int AllReduce(void* send, void* recv, nuint count, int datatype, int op, IntPtr comm, IntPtr stream);

    [LibraryImport(Lib, EntryPoint = "ncclBroadcast")]
    public static partial int Broadcast(void* send, void* recv, nuint count, int datatype, int root, IntPtr comm, IntPtr stream);

    [LibraryImport(Lib, EntryPoint = "ncclCommGetAsyncError")]
    public static partial int CommGetAsyncError(IntPtr comm, int* error);

    [LibraryImport(Lib, EntryPoint = "ncclCommAbort")]
    public static partial int CommAbort(IntPtr comm);

    [LibraryImport(Lib, EntryPoint = "ncclCommDestroy")]
    public static partial int CommDestroy(IntPtr comm);

    [LibraryImport(Lib, EntryPoint = "ncclGetErrorString")]
    public static partial IntPtr GetErrorString(int result);

    [LibraryImport(Cuda, EntryPoint = "cuStreamQuery")]
    public static partial int StreamQuery(IntPtr stream);

    public static void Check(int code, string call)
    {
        if (code != Success)
            throw new InvalidOperationException($"ProcessGroup (NCCL): {call} failed: {Marshal.PtrToStringUTF8(GetErrorString(code))} (ncclResult {code})");
    }
}
