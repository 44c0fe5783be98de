using System.Runtime.InteropServices;
using Framework.Autograd;
using Framework.Nn;

namespace Framework.Distributed;

/// <summary>
/// PyTorch's <c>DistributedDataParallel</c>: every rank runs the same model on its own share of the batch;
/// gradients are averaged over the ranks during backward, so after <c>Backward()</c> every rank holds the
/// gradient of the mean loss over all ranks' batches, and identical optimizer steps keep the replicas equal.
/// </summary>
/// <remarks>
/// <para>At wrap time: the parameters' names, count and shapes are compared across ranks (one all-gather of a
/// signature; a mismatch throws on every rank, naming the ranks and this rank's parameters), then every
/// parameter and buffer is broadcast from rank 0.</para>
/// <para>Buckets: parameters in reverse registration order (about the order backward produces their
/// gradients), grouped by dtype into buckets of at most <c>bucketCapMb</c> MiB. A hook on each parameter
/// (the engine's post-accumulate-grad hook) marks it ready once its gradient is final for the pass; a full
/// bucket is copied into its pinned host buffer and its non-blocking all-reduce started at once, while
/// backward goes on (buckets start in index order on every rank, so the collectives match). An
/// end-of-backward callback starts any bucket left (parameters that got no gradient count as zeros, and
/// get a zero gradient), waits for all of them (with the group's deadline) and writes the averages back.</para>
/// <para><see cref="NoSync"/>: inside it backward only accumulates locally; the first synchronized backward
/// after it averages the accumulated gradients (PyTorch's gradient accumulation).</para>
/// <para>Every rank must run the same backward passes (each is a set of collectives). Device parameters
/// (CUDA, emulated) are staged through the host buffers.</para>
/// </remarks>
public sealed class DistributedDataParallel : Layer
{
    private readonly ProcessGroup _group;
    private readonly List<Bucket> _buckets = [];
    private readonly Dictionary<Tensor, Bucket> _bucketOf = new(ReferenceEqualityComparer.Instance);
    private int _noSync;
    private bool _passActive;
    private long _pass;
    private int _nextLaunch;

    /// <summary>Wraps <paramref name="module"/> (registered as child "module", as in PyTorch's state dicts).</summary>
    public DistributedDataParallel(Layer module, ProcessGroup group, double bucketCapMb = 25) : base(null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        if (!(bucketCapMb > 0)) throw new ArgumentOutOfRangeException(nameof(bucketCapMb), $"DistributedDataParallel expected bucketCapMb > 0, got {bucketCapMb}");
        _group = group;
        Module = RegisterModule(module, "module");
        var parameters = module.NamedParameters().ToList();
        CheckSameModel(parameters);
        using (Tensor.NoGrad())
        {
            foreach (var (_, p) in parameters) group.Broadcast(p, 0);
            foreach (var (_, b) in module.NamedBuffers()) group.Broadcast(b, 0);
        }
        long cap = (long)(bucketCapMb * 1024 * 1024);
        Bucket? open = null;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var (name, p) = parameters[i];
            if (!p.RequiresGrad) continue;
            if (p.DType is not (DType.Float32 or DType.Float64))
                throw new NotSupportedException($"DistributedDataParallel expected float32 or float64 parameters, got {p.DType.Name()} for '{name}'");
            if (p.PostAccumulateGradHook is not null)
                throw new InvalidOperationException($"DistributedDataParallel: parameter '{name}' already has a gradient hook (wrapped twice?)");
            long bytes = p.Numel * p.DType.ElementSize();
            if (open is null || open.DType != p.DType || (open.Params.Count > 0 && open.Bytes + bytes > cap))
            {
                open = new Bucket(_buckets.Count, p.DType);
                _buckets.Add(open);
            }
            open.Add(p);
            _bucketOf[p] = open;
            p.PostAccumulateGradHook = OnGradReady;
        }
        foreach (var b in _buckets) b.Allocate();
    }

    /// <summary>The wrapped module.</summary>
    public Layer Module { get; }

    /// <summary>The number of gradient buckets (each one all-reduce per backward pass).</summary>
    public int BucketCount => _buckets.Count;

    /// <summary>
    /// Time spent at the end of backward passes waiting for gradient all-reduces to finish (the
    /// communication NOT hidden behind backward), summed over passes; for measurements.
    /// </summary>
    public TimeSpan ExposedCommunication { get; private set; }

    /// <summary>Runs the wrapped module.</summary>
    public override Tensor Forward(Tensor input) => Module.Forward(input);

    /// <summary>Within the returned scope backward accumulates gradients locally, without communication.</summary>
    public IDisposable NoSync()
    {
        _noSync++;
        return new Restore(this);
    }

    private sealed class Restore(DistributedDataParallel owner) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            owner._noSync--;
        }
    }

    private void CheckSameModel(List<(string Name, Tensor Parameter)> parameters)
    {
        // Signature: count, total values, and a hash of names, shapes and dtypes (FNV-1a).
        ulong hash = 14695981039346656037;
        long total = 0;
        foreach (var (name, p) in parameters)
        {
            total += p.Numel;
            foreach (char ch in $"{name}:{Shapes.Format(p.Shape)}:{p.DType.Name()};") hash = (hash ^ ch) * 1099511628211;
        }
        long[] mine = [parameters.Count, total, unchecked((long)hash)];
        var all = new long[3 * _group.WorldSize];
        _group.AllGather<long>(mine, all);
        var bad = Enumerable.Range(1, _group.WorldSize - 1).Where(r => !all.AsSpan(3 * r, 3).SequenceEqual(all.AsSpan(0, 3))).ToList();
        if (bad.Count == 0) return;
        string Describe(int r) => $"rank {r}: {all[3 * r]} parameters, {all[3 * r + 1]} values, shapes hash {all[3 * r + 2]:x16}";
        throw new InvalidOperationException(
            $"DistributedDataParallel expected the same parameters (names, shapes, dtypes) on every rank, but {string.Join("; ", bad.Select(Describe))} differ from {Describe(0)}. " +
            $"This rank ({_group.Rank}) has: {string.Join(", ", parameters.Select(p => $"{p.Name} {Shapes.Format(p.Parameter.Shape)} {p.Parameter.DType.Name()}"))}");
    }

    private void OnGradReady(Tensor p)
    {
        if (_noSync > 0) return;
        if (_passActive && _pass != Engine.CurrentPass)
            throw new InvalidOperationException(
                "DistributedDataParallel: an earlier backward pass failed after it had started gradient all-reduces, so this rank's collectives " +
                "are out of step with the other ranks'; the job cannot continue (call ProcessGroup.Abort)");
        if (!_passActive)
        {
            _passActive = true;
            _pass = Engine.CurrentPass;
            Engine.QueueCallback(FinishPass);
        }
        var bucket = _bucketOf[p];
        bucket.Ready++;
        LaunchReady(finishing: false);
        // Open MPI progresses non-blocking collectives only inside MPI calls: give the ones in flight a turn.
        foreach (var b in _buckets) b.Work?.Test();
    }

    private void LaunchReady(bool finishing)
    {
        while (_nextLaunch < _buckets.Count && (finishing || _buckets[_nextLaunch].Ready == _buckets[_nextLaunch].Params.Count))
        {
            var b = _buckets[_nextLaunch++];
            b.Pack();
            b.Work = b.Start(_group);
        }
    }

    private void FinishPass()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            LaunchReady(finishing: true);
            foreach (var b in _buckets)
            {
                b.Work!.Wait();
                b.Unpack();
            }
        }
        finally
        {
            foreach (var b in _buckets)
            {
                b.Ready = 0;
                b.Work = null;
            }
            _nextLaunch = 0;
            _passActive = false;
            ExposedCommunication += System.Diagnostics.Stopwatch.GetElapsedTime(start);
        }
    }

    private sealed class Bucket(int index, DType dtype)
    {
        public readonly int Index = index;
        public readonly DType DType = dtype;
        public readonly List<Tensor> Params = [];
        private readonly List<long> _offsets = [];
        public long Bytes;
        public int Ready;
        public ProcessGroup.Work? Work;
        private float[]? _f;
        private double[]? _d;
        private int _count;

        public void Add(Tensor p)
        {
            _offsets.Add(_count);
            _count = checked(_count + (int)p.Numel);
            Bytes += p.Numel * DType.ElementSize();
            Params.Add(p);
        }

        // Pinned: MPI reads and writes the buffer while the GC may run.
        public void Allocate()
        {
            if (DType == DType.Float32) _f = GC.AllocateArray<float>(_count, pinned: true);
            else _d = GC.AllocateArray<double>(_count, pinned: true);
        }

        private Span<byte> Slice(int i)
        {
            int esz = DType.ElementSize();
            var all = _f is not null ? MemoryMarshal.AsBytes(_f.AsSpan()) : MemoryMarshal.AsBytes(_d.AsSpan());
            return all.Slice((int)(_offsets[i] * esz), (int)(Params[i].Numel * esz));
        }

        public void Pack()
        {
            for (int i = 0; i < Params.Count; i++)
            {
                var g = Params[i].Grad;
                if (g is null || g.IsDisposed) { Slice(i).Clear(); continue; }
                using var c = g.ContiguousOwned();
                c.Backend.Download(c, Slice(i));
            }
        }

        public ProcessGroup.Work Start(ProcessGroup group) =>
            _f is not null ? group.StartAllReduce(_f, _count, ReduceOp.Average) : group.StartAllReduce(_d!, _count, ReduceOp.Average);

        public void Unpack()
        {
            for (int i = 0; i < Params.Count; i++)
            {
                var p = Params[i];
                var g = p.Grad;
                if (g is null || g.IsDisposed || !g.IsContiguous || !g.Shape.AsSpan().SequenceEqual(p.Shape))
                {
                    using var unscoped = TensorScope.Suppress();
                    var fresh = Tensor.Empty(p.Shape, p.DType, p.Device);
                    fresh.Backend.Upload(Slice(i), fresh);
                    var old = p.Grad;
                    p.Grad = fresh;
                    old?.Dispose();
                }
                else
                {
                    g.Backend.Upload(Slice(i), g);
                    g.BumpVersion();
                }
            }
        }
    }
}
