using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Framework.Distributed;

/// <summary>
/// The processes of one data-parallel job (PyTorch's <c>torch.distributed</c> default group), over
/// Open MPI's MPI_COMM_WORLD. Start the program with <c>mpirun -np N dotnet app.dll</c> and call
/// <see cref="FromEnvironment"/>; rank and size come from MPI and are checked against Open MPI's
/// <c>OMPI_COMM_WORLD_RANK</c>/<c>OMPI_COMM_WORLD_SIZE</c> (or explicit arguments to <see cref="Init"/>).
/// </summary>
/// <remarks>
/// <para>Tensors of any device take part: host tensors are copied into a managed buffer, reduced by MPI and
/// copied back; CUDA tensors go through NCCL (<c>libnccl.so.2</c>) where present (all-reduce and broadcast;
/// see <see cref="UseNccl"/>), and are otherwise staged through the host like the emulated device's.
/// Supported dtypes: float32, float64, int64.</para>
/// <para>Failure behaviour: every collective is a non-blocking MPI call (MPI_Iallreduce, MPI_Ibcast,
/// MPI_Iallgather) polled with MPI_Test against a deadline of <see cref="Timeout"/> (default 60 s). A peer
/// that died, hangs or threw (and so never joins the collective) makes the waiting ranks print
/// "ProcessGroup: rank R: ... did not complete within ..." on stderr and call MPI_Abort, which ends every
/// process of the job with a non-zero exit code: never a hang. A rank whose code throws should call
/// <see cref="Abort"/> (the test runner does) so the others need not wait for the deadline; a rank that
/// exits or is killed is noticed by mpirun, which ends the job at once.</para>
/// <para>MPI can be initialised once per process: the group is a process-wide singleton and
/// <see cref="Dispose"/> calls MPI_Finalize.</para>
/// </remarks>
public sealed unsafe class ProcessGroup : IDisposable
{
    /// <summary>The default deadline of one collective.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private static ProcessGroup? s_world;
    private static readonly object s_lock = new();
    private readonly IntPtr _comm;
    private bool _disposed;

    private ProcessGroup(IntPtr comm, int rank, int worldSize, TimeSpan timeout)
    {
        _comm = comm;
        Rank = rank;
        WorldSize = worldSize;
        Timeout = timeout;
    }

    /// <summary>This process's index in [0, <see cref="WorldSize"/>).</summary>
    public int Rank { get; }

    /// <summary>The number of processes.</summary>
    public int WorldSize { get; }

    /// <summary>How long one collective may wait for the other ranks before the job is aborted.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>Whether Open MPI's <c>libmpi.so.40</c> can be loaded on this machine.</summary>
    public static bool IsAvailable => Mpi.IsAvailable;

    /// <summary>Whether this process was started by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE is set).</summary>
    public static bool IsLaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Joins the job mpirun started: rank and size from MPI, checked against OMPI_COMM_WORLD_RANK/SIZE.
    /// Without mpirun (no OMPI_COMM_WORLD_SIZE), MPI starts as a singleton: rank 0 of 1.
    /// </summary>
    public static ProcessGroup FromEnvironment(TimeSpan? timeout = null)
    {
        int? rank = ReadEnv("OMPI_COMM_WORLD_RANK");
        int? size = ReadEnv("OMPI_COMM_WORLD_SIZE");
        return Init(rank, size, timeout);
    }

    /// <summary>
    /// Joins the job with an expected rank and world size (either may be null: taken from MPI); throws
    /// when MPI disagrees, e.g. a launcher that started fewer processes than the caller expects.
    /// </summary>
    public static ProcessGroup Init(int? rank, int? worldSize, TimeSpan? timeout = null)
    {
        var t = timeout ?? DefaultTimeout;
        if (t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), $"ProcessGroup expected a positive timeout, got {t}");
        lock (s_lock)
        {
            if (s_world is { _disposed: false })
                throw new InvalidOperationException("ProcessGroup: MPI is already initialised in this process; use the existing group (MPI allows one initialisation per process)");
            if (s_world is not null)
                throw new InvalidOperationException("ProcessGroup: MPI was finalised in this process and cannot be initialised again");
            int flag;
            Check(Mpi.Initialized(&flag), "MPI_Initialized");
            if (flag == 0) Check(Mpi.Init(null, null), "MPI_Init");
            IntPtr comm = Mpi.CommWorld;
            int r, s;
            Check(Mpi.CommRank(comm, &r), "MPI_Comm_rank");
            Check(Mpi.CommSize(comm, &s), "MPI_Comm_size");
            if (rank is { } er && er != r)
                throw new InvalidOperationException($"ProcessGroup expected rank {er}, but MPI gives this process rank {r} of {s}");
            if (worldSize is { } es && es != s)
                throw new InvalidOperationException($"ProcessGroup expected world size {es}, but MPI's MPI_COMM_WORLD has {s} processes (started without mpirun -np {es}?)");
            s_world = new ProcessGroup(comm, r, s, t);
            return s_world;
        }
    }

    private static int? ReadEnv(string name)
    {
        string? v = Environment.GetEnvironmentVariable(name);
        if (v is null) return null;
        if (!int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int x))
            throw new InvalidOperationException($"ProcessGroup expected {name} to be a non-negative integer, got '{v}'");
        return x;
    }

    /// <summary>
    /// Whether CUDA tensors go through NCCL when <c>libnccl.so.2</c> is present (default true; every rank must
    /// agree). Without NCCL, or false, they are staged through the host over MPI.
    /// </summary>
    public bool UseNccl { get; set; } = true;

    /// <summary>Why NCCL is not used for CUDA tensors on this machine, or null when it is available.</summary>
    public static string? NcclUnavailableReason => Nccl.Missing;

    private NcclCommunicator? _nccl;

    // The NCCL communicator for a CUDA tensor, made on the first CUDA collective (which every rank runs);
    // null for other devices, strided tensors, or without NCCL.
    private NcclCommunicator? NcclFor(Tensor t)
    {
        if (t.Device.Type != DeviceType.Cuda || !t.IsContiguous || !UseNccl || Nccl.Missing is not null) return null;
        return _nccl ??= new NcclCommunicator(this);
    }

    /// <summary>Reduces <paramref name="tensor"/> over every rank, in place; every rank gets the result.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Numel > 0 && !(op == ReduceOp.Average && tensor.DType == DType.Int64) && NcclFor(tensor) is { } nccl)
        {
            nccl.AllReduce(tensor, op);
            return;
        }
        switch (tensor.DType)
        {
            case DType.Float32: Staged<float>(tensor, buf => AllReduce(buf, op)); break;
            case DType.Float64: Staged<double>(tensor, buf => AllReduce(buf, op)); break;
            case DType.Int64: Staged<long>(tensor, buf => AllReduce(buf, op)); break;
            default: throw UnsupportedDType("AllReduce", tensor.DType);
        }
    }

    /// <summary>Overwrites <paramref name="tensor"/> on every rank with rank <paramref name="root"/>'s values.</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Numel > 0 && root >= 0 && root < WorldSize && NcclFor(tensor) is { } nccl)
        {
            nccl.Broadcast(tensor, root);
            return;
        }
        switch (tensor.DType)
        {
            case DType.Float32: Staged<float>(tensor, buf => Broadcast(buf, root)); break;
            case DType.Float64: Staged<double>(tensor, buf => Broadcast(buf, root)); break;
            case DType.Int64: Staged<long>(tensor, buf => Broadcast(buf, root)); break;
            default: throw UnsupportedDType("Broadcast", tensor.DType);
        }
    }

    /// <summary>Every rank's <paramref name="tensor"/> (same shape on every rank), in rank order, on the tensor's device.</summary>
    public Tensor[] AllGather(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.DType switch
        {
            DType.Float32 => Gathered<float>(tensor),
            DType.Float64 => Gathered<double>(tensor),
            DType.Int64 => Gathered<long>(tensor),
            _ => throw UnsupportedDType("AllGather", tensor.DType),
        };
    }

    private Tensor[] Gathered<T>(Tensor tensor) where T : unmanaged
    {
        T[] mine = tensor.ToArray<T>();
        var all = new T[checked(mine.Length * WorldSize)];
        AllGather<T>(mine, all);
        var result = new Tensor[WorldSize];
        for (int r = 0; r < WorldSize; r++)
        {
            using var host = FromHost<T>(all.AsSpan(r * mine.Length, mine.Length), tensor.Shape);
            result[r] = tensor.Device == Device.Cpu ? host.Clone() : host.To(tensor.Device);
        }
        return result;
    }

    /// <summary>
    /// Runs <paramref name="collective"/> on the tensor's values: in place on a contiguous CPU tensor's own
    /// (native, unmoving) memory; otherwise through a pooled host buffer, downloaded and uploaded back
    /// (device tensors: the host staging).
    /// </summary>
    private static void Staged<T>(Tensor tensor, SpanAction<T> collective) where T : unmanaged
    {
        using var noGrad = Tensor.NoGrad();
        if (tensor.Device == Device.Cpu && tensor.IsContiguous)
        {
            collective(Framework.Backends.Cpu.CpuBackend.Span<T>(tensor));
            tensor.BumpVersion();
            return;
        }
        int n = Count(tensor.Numel, "collective");
        T[] buf = ArrayPool<T>.Shared.Rent(n);
        try
        {
            var span = buf.AsSpan(0, n);
            using (var c = tensor.ContiguousOwned()) c.Backend.Download(c, MemoryMarshal.AsBytes(span));
            collective(span);
            if (tensor.IsContiguous)
            {
                tensor.Backend.Upload(MemoryMarshal.AsBytes(span), tensor);
                tensor.BumpVersion();
            }
            else
            {
                using var host = FromHost<T>(span, tensor.Shape);
                using var moved = host.To(tensor.Device);
                tensor.CopyFrom(moved);
            }
        }
        finally { ArrayPool<T>.Shared.Return(buf); }
    }

    private delegate void SpanAction<T>(Span<T> span);

    private static Tensor FromHost<T>(ReadOnlySpan<T> data, int[] shape) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Tensor.From(MemoryMarshal.Cast<T, float>(data), shape);
        if (typeof(T) == typeof(double)) return Tensor.From(MemoryMarshal.Cast<T, double>(data), shape);
        return Tensor.From(MemoryMarshal.Cast<T, long>(data), shape);
    }

    /// <summary>All-reduces a host buffer in place (float, double or long).</summary>
    public void AllReduce<T>(Span<T> buffer, ReduceOp op = ReduceOp.Sum) where T : unmanaged
    {
        IntPtr type = TypeOf<T>("AllReduce");
        int count = Count(buffer.Length, "AllReduce");
        IntPtr mpiOp = op switch
        {
            ReduceOp.Sum or ReduceOp.Average => Mpi.OpSum,
            ReduceOp.Max => Mpi.OpMax,
            _ => throw new ArgumentOutOfRangeException(nameof(op), $"ProcessGroup.AllReduce expected Sum, Average or Max, got {op}"),
        };
        if (count == 0) return;
        fixed (T* p = buffer)
        {
            IntPtr request;
            // MPI_IN_PLACE is ((void*)1) in Open MPI.
            Check(Mpi.Iallreduce((void*)1, p, count, type, mpiOp, _comm, &request), "MPI_Iallreduce");
            Wait(&request, $"AllReduce({op}) of {count} {typeof(T).Name} values");
        }
        if (op == ReduceOp.Average) Divide(buffer, WorldSize);
    }

    /// <summary>
    /// Starts an in-place all-reduce of a PINNED buffer (GC.AllocateArray(pinned: true)) and returns at
    /// once; <see cref="Work.Wait"/> finishes it (with this group's deadline) and applies Average.
    /// </summary>
    internal Work StartAllReduce<T>(T[] pinned, int count, ReduceOp op) where T : unmanaged
    {
        IntPtr type = TypeOf<T>("AllReduce");
        IntPtr mpiOp = op == ReduceOp.Max ? Mpi.OpMax : Mpi.OpSum;
        ObjectDisposedException.ThrowIf(_disposed, this);
        IntPtr request = IntPtr.Zero;
        if (count > 0)
        {
            void* p = Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
            Check(Mpi.Iallreduce((void*)1, p, count, type, mpiOp, _comm, &request), "MPI_Iallreduce");
        }
        return new Work(this, request, $"AllReduce({op}) of {count} {typeof(T).Name} values (a gradient bucket)",
            op == ReduceOp.Average ? () => Divide(pinned.AsSpan(0, count), WorldSize) : null);
    }

    /// <summary>A collective in flight, from <see cref="StartAllReduce{T}"/>.</summary>
    internal sealed class Work(ProcessGroup group, IntPtr request, string what, Action? finish)
    {
        private IntPtr _request = request;
        private bool _done = request == IntPtr.Zero;
        private bool _finished;

        /// <summary>Lets MPI progress the collective (Open MPI progresses only inside MPI calls); true when complete.</summary>
        public bool Test()
        {
            if (_done) return true;
            int flag;
            fixed (IntPtr* r = &_request) Check(Mpi.Test(r, &flag, null), "MPI_Test");
            _done = flag != 0;
            return _done;
        }

        /// <summary>Waits for completion against the group's deadline (aborting the job past it).</summary>
        public void Wait()
        {
            if (!_done)
            {
                fixed (IntPtr* r = &_request) group.Wait(r, what);
                _done = true;
            }
            if (_finished) return;
            _finished = true;
            finish?.Invoke();
        }
    }

    private static void Divide<T>(Span<T> buffer, int n) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) foreach (ref float v in MemoryMarshal.Cast<T, float>(buffer)) v /= n;
        else if (typeof(T) == typeof(double)) foreach (ref double v in MemoryMarshal.Cast<T, double>(buffer)) v /= n;
        else foreach (ref long v in MemoryMarshal.Cast<T, long>(buffer)) v /= n;
    }

    /// <summary>Overwrites a host buffer with rank <paramref name="root"/>'s.</summary>
    public void Broadcast<T>(Span<T> buffer, int root = 0) where T : unmanaged
    {
        IntPtr type = TypeOf<T>("Broadcast");
        if (root < 0 || root >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(root), $"ProcessGroup.Broadcast expected a root in [0, {WorldSize}), got {root}");
        int count = Count(buffer.Length, "Broadcast");
        if (count == 0) return;
        fixed (T* p = buffer)
        {
            IntPtr request;
            Check(Mpi.Ibcast(p, count, type, root, _comm, &request), "MPI_Ibcast");
            Wait(&request, $"Broadcast of {count} {typeof(T).Name} values from rank {root}");
        }
    }

    /// <summary>Gathers every rank's <paramref name="send"/> into <paramref name="receive"/> (WorldSize times its length), in rank order.</summary>
    public void AllGather<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged
    {
        IntPtr type = TypeOf<T>("AllGather");
        int count = Count(send.Length, "AllGather");
        if (receive.Length != (long)count * WorldSize)
            throw new ArgumentException($"ProcessGroup.AllGather expected a receive buffer of {(long)count * WorldSize} values ({WorldSize} ranks x {count}), got {receive.Length}");
        if (count == 0) return;
        fixed (T* s = send)
        fixed (T* r = receive)
        {
            IntPtr request;
            Check(Mpi.Iallgather(s, count, type, r, count, type, _comm, &request), "MPI_Iallgather");
            Wait(&request, $"AllGather of {count} {typeof(T).Name} values per rank");
        }
    }

    /// <summary>
    /// Ends every process of the job: prints <paramref name="message"/> on stderr with this rank and calls
    /// MPI_Abort (mpirun then kills the other ranks). Use it when this rank cannot go on, so the others
    /// fail now instead of waiting for their collectives' deadline.
    /// </summary>
    public void Abort(string message, int errorCode = 1)
    {
        Console.Error.WriteLine($"ProcessGroup: rank {Rank} of {WorldSize}: {message}; aborting the job (MPI_Abort)");
        Console.Error.Flush();
        Console.Out.Flush();
        Mpi.Abort(_comm, errorCode);
        Environment.Exit(errorCode); // MPI_Abort does not return; this is the belt to its braces.
    }

    // Polls the request until it completes or the deadline passes. The first microseconds spin (small
    // collectives finish there), then the thread yields, then sleeps 1 ms so a long wait costs no core.
    private void Wait(IntPtr* request, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var clock = Stopwatch.StartNew();
        int flag = 0;
        long polls = 0;
        while (true)
        {
            Check(Mpi.Test(request, &flag, null), "MPI_Test");
            if (flag != 0) return;
            if (clock.Elapsed > Timeout)
                Abort($"{what} did not complete within {Timeout.TotalSeconds:0.###} s (ProcessGroup.Timeout): another rank died, hangs, threw or called a different collective");
            polls++;
            if (polls < 2000) Thread.SpinWait(20);
            else if (clock.ElapsedMilliseconds < 50) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    private static IntPtr TypeOf<T>(string what) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Mpi.Float;
        if (typeof(T) == typeof(double)) return Mpi.Double;
        if (typeof(T) == typeof(long)) return Mpi.Int64;
        if (typeof(T) == typeof(byte)) return Mpi.Byte;
        throw new NotSupportedException($"ProcessGroup.{what} expected float, double or long values, got {typeof(T).Name}");
    }

    private static int Count(long length, string what) =>
        length <= int.MaxValue ? (int)length
        : throw new NotSupportedException($"ProcessGroup.{what} expected at most {int.MaxValue} values per call (MPI's int count), got {length}");

    private static NotSupportedException UnsupportedDType(string what, DType dtype) =>
        new($"ProcessGroup.{what} expected a float32, float64 or int64 tensor, got {dtype.Name()}");

    private static void Check(int code, string call)
    {
        if (code != Mpi.Success) throw new InvalidOperationException($"ProcessGroup: {call} failed with MPI error code {code}");
    }

    /// <summary>Calls MPI_Finalize (collective: every rank must dispose its group).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _nccl?.Dispose();
        _nccl = null;
        _disposed = true;
        int flag;
        if (Mpi.Finalized(&flag) == Mpi.Success && flag == 0) Mpi.Finalize();
    }
}
