using System.Reflection;
using System.Runtime.InteropServices;

namespace Framework.Distributed;

/// <summary>
/// The few Open MPI calls the process group uses, bound with <c>LibraryImport</c> to Debian's
/// <c>libmpi.so.40</c>. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM...) are the addresses of
/// exported globals (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>), read with
/// <see cref="NativeLibrary.GetExport"/>; MPI_Request is a pointer, MPI_STATUS_IGNORE is null.
/// </summary>
internal static unsafe partial class Mpi
{
    private const string Lib = "mpi";
    private const string SoName = "libmpi.so.40";
    private static readonly Lazy<IntPtr> s_handle = new(Load);

    static Mpi() => NativeLibrary.SetDllImportResolver(typeof(Mpi).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == Lib ? s_handle.Value : IntPtr.Zero;

    // RTLD_GLOBAL: Open MPI dlopens its components (btl, pml, coll...), which resolve symbols of
    // libmpi/libopen-pal from the global namespace; .NET's own loader uses RTLD_LOCAL.
    private static IntPtr Load()
    {
        const int RtldNow = 2, RtldGlobal = 0x100;
        IntPtr h = DlOpen(SoName, RtldNow | RtldGlobal);
        if (h == IntPtr.Zero)
            throw new DllNotFoundException($"ProcessGroup needs Open MPI's {SoName} (Debian: apt-get install openmpi-bin libopenmpi3); dlopen failed: {Marshal.PtrToStringUTF8(DlError())}");
        return h;
    }

    /// <summary>Whether libmpi.so.40 can be loaded here.</summary>
    public static bool IsAvailable
    {
        get
        {
            try { return s_handle.Value != IntPtr.Zero; }
            catch (DllNotFoundException) { return false; }
        }
    }

    [LibraryImport("libc", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr DlOpen(string file, int mode);

    [LibraryImport("libc", EntryPoint = "dlerror")]
    private static partial IntPtr DlError();

    private static IntPtr Global(string name) => NativeLibrary.GetExport(s_handle.Value, name);

    public static IntPtr CommWorld => Global("ompi_mpi_comm_world");
    public static IntPtr Float => Global("ompi_mpi_float");
    public static IntPtr Double => Global("ompi_mpi_double");
    public static IntPtr Int64 => Global("ompi_mpi_int64_t");
    public static IntPtr Byte => Global("ompi_mpi_byte");
    public static IntPtr OpSum => Global("ompi_mpi_op_sum");
    public static IntPtr OpMax => Global("ompi_mpi_op_max");

    public const int Success = 0;

    [LibraryImport(Lib, EntryPoint = "MPI_Initialized")]
    public static partial int Initialized(int* flag);

    [LibraryImport(Lib, EntryPoint = "MPI_Finalized")]
    public static partial int Finalized(int* flag);

    [LibraryImport(Lib, EntryPoint = "MPI_Init")]
    public static partial int Init(int* argc, byte*** argv);

    [LibraryImport(Lib, EntryPoint = "MPI_Finalize")]
    public static partial int Finalize();

    [LibraryImport(Lib, EntryPoint = "MPI_Comm_rank")]
    public static partial int CommRank(IntPtr comm, int* rank);

    [LibraryImport(Lib, EntryPoint = "MPI_Comm_size")]
    public static partial int CommSize(IntPtr comm, int* size);

    [LibraryImport(Lib, EntryPoint = "MPI_Abort")]
    public static partial int Abort(IntPtr comm, int errorCode);

    [LibraryImport(Lib, EntryPoint = "MPI_Iallreduce")]
    public static partial int Iallreduce(void* send, void* recv, int count, IntPtr datatype, IntPtr op, IntPtr comm, IntPtr* request);

    [LibraryImport(Lib, EntryPoint = "MPI_Ibcast")]
    public static partial int Ibcast(void* buffer, int count, IntPtr datatype, int root, IntPtr comm, IntPtr* request);

    [LibraryImport(Lib, EntryPoint = "MPI_Iallgather")]
    public static partial int Iallgather(void* send, int sendCount, IntPtr sendType, void* recv, int recvCount, IntPtr recvType, IntPtr comm, IntPtr* request);

    [LibraryImport(Lib, EntryPoint = "MPI_Test")]
    public static partial int Test(IntPtr* request, int* flag, void* status);

    [LibraryImport(Lib, EntryPoint = "MPI_Get_library_version")]
    public static partial int GetLibraryVersion(byte* version, int* length);
}
