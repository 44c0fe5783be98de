using System.Diagnostics;
using Framework.Cuda;

namespace Framework.Distributed;

/// <summary>
/// An NCCL communicator over the ranks of a <see cref="ProcessGroup"/>: rank 0 makes the unique id, MPI
/// broadcasts it, every rank calls ncclCommInitRank. Collectives run on the legacy default stream and are
/// waited for by polling cuStreamQuery and ncclCommGetAsyncError against the group's deadline; past it the
/// communicator is aborted and the job with it.
/// </summary>
internal sealed unsafe class NcclCommunicator : IDisposable
{
    private readonly ProcessGroup _group;
    private IntPtr _comm;

    public NcclCommunicator(ProcessGroup group)
    {
        _group = group;
        var id = default(Nccl.UniqueId);
        if (group.Rank == 0) Nccl.Check(Nccl.GetUniqueId(&id), "ncclGetUniqueId");
        var bytes = new Span<byte>(&id, sizeof(Nccl.UniqueId));
        group.Broadcast<byte>(bytes, 0);
        IntPtr comm;
        Nccl.Check(Nccl.CommInitRank(&comm, group.WorldSize, id, group.Rank), "ncclCommInitRank");
        _comm = comm;
    }

    private static int TypeOf(DType dtype) => dtype switch
    {
        DType.Float32 => Nccl.Float32,
        DType.Float64 => Nccl.Float64,
        DType.Int64 => Nccl.Int64,
        _ => throw new NotSupportedException($"ProcessGroup (NCCL) expected a float32, float64 or int64 tensor, got {dtype.Name()}"),
    };

    public void AllReduce(Tensor t, ReduceOp op)
    {
        void* p = (void*)CudaBackend.DevicePtr(t);
        int ncclOp = op switch { ReduceOp.Sum => Nccl.OpSum, ReduceOp.Max => Nccl.OpMax, _ => Nccl.OpAvg };
        Nccl.Check(Nccl.AllReduce(p, p, (nuint)t.Numel, TypeOf(t.DType), ncclOp, _comm, IntPtr.Zero), "ncclAllReduce");
        Wait($"AllReduce({op}) of {t.Numel} {t.DType.Name()} values on {t.Device}");
        t.BumpVersion();
    }

    public void Broadcast(Tensor t, int root)
    {
        void* p = (void*)CudaBackend.DevicePtr(t);
        Nccl.Check(Nccl.Broadcast(p, p, (nuint)t.Numel, TypeOf(t.DType), root, _comm, IntPtr.Zero), "ncclBroadcast");
        Wait($"Broadcast of {t.Numel} {t.DType.Name()} values on {t.Device} from rank {root}");
        t.BumpVersion();
    }

    private void Wait(string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int q = Nccl.StreamQuery(IntPtr.Zero);
            if (q == 0) return;
            if (q != Nccl.CudaErrorNotReady) throw new InvalidOperationException($"ProcessGroup (NCCL): cuStreamQuery failed with CUDA error {q} during {what}");
            int async;
            Nccl.Check(Nccl.CommGetAsyncError(_comm, &async), "ncclCommGetAsyncError");
            if (async != Nccl.Success && async != Nccl.InProgress)
            {
                Nccl.CommAbort(_comm);
                _group.Abort($"NCCL {what} failed: {System.Runtime.InteropServices.Marshal.PtrToStringUTF8(Nccl.GetErrorString(async))}");
            }
            if (clock.Elapsed > _group.Timeout)
            {
                Nccl.CommAbort(_comm);
                _group.Abort($"NCCL {what} did not complete within {_group.Timeout.TotalSeconds:0.###} s (ProcessGroup.Timeout): another rank died, hangs or threw");
            }
            Thread.Yield();
        }
    }

    public void Dispose()
    {
        if (_comm == IntPtr.Zero) return;
        Nccl.CommDestroy(_comm);
        _comm = IntPtr.Zero;
    }
}
