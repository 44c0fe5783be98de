namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Happens-before tracking for shared memory. Per byte it remembers, for the current barrier epoch,
/// the last plain writer, the plain reader(s) and the thread(s) that used atomics on it. A plain access
/// conflicts with another thread's plain write, a plain write with another thread's read, and any
/// plain access with another thread's atomic; atomics never conflict with each other.
/// <para>
/// Two things order accesses: a block barrier starts a new epoch (clearing every byte at once without
/// touching them), and a whole-warp <c>bar.warp.sync</c> bumps that warp's stamp, which orders the
/// warp's earlier accesses before its later ones. Each record keeps the stamp of its warp at access
/// time, so an access by another lane of the same warp with an older stamp is ordered, not a race.
/// </para>
/// </summary>
internal sealed class SharedRaceTracker
{
    /// <summary>Returned by the record methods: no conflict.</summary>
    public const int None = -1;
    /// <summary>Returned by the record methods: conflict with several other threads.</summary>
    public const int Several = -2;
    private const int Many = -1;

    private int[] _writer = Array.Empty<int>(), _writerEpoch = Array.Empty<int>(), _writerStamp = Array.Empty<int>();
    private int[] _reader = Array.Empty<int>(), _readerEpoch = Array.Empty<int>(), _readerStamp = Array.Empty<int>();
    private int[] _readerWarp = Array.Empty<int>();
    private int[] _atomic = Array.Empty<int>(), _atomicEpoch = Array.Empty<int>();
    private int[] _warpStamp = Array.Empty<int>();
    // The epoch only grows (across blocks too), so stale entries from an older block never match.
    private int _epoch = 1;

    public void Resize(int bytes, int warps)
    {
        if (_warpStamp.Length < warps) _warpStamp = new int[warps];
        if (_writer.Length >= bytes) return;
        _writer = new int[bytes]; _writerEpoch = new int[bytes]; _writerStamp = new int[bytes];
        _reader = new int[bytes]; _readerEpoch = new int[bytes]; _readerStamp = new int[bytes]; _readerWarp = new int[bytes];
        _atomic = new int[bytes]; _atomicEpoch = new int[bytes];
    }

    /// <summary>A block-wide barrier: everything before is ordered before everything after.</summary>
    public void Barrier() => _epoch++;

    /// <summary>A bar.warp.sync by all lanes of <paramref name="warp"/>.</summary>
    public void WarpSync(int warp) => _warpStamp[warp]++;

    private static int Other(int recorded) => recorded == Many ? Several : recorded - 1;

    /// <summary>Whether an access recorded by thread <paramref name="recorded"/> (1-based) at a stamp is ordered before now.</summary>
    private bool OrderedByWarpSync(int recorded, int stamp, int myWarp) =>
        recorded > 0 && (recorded - 1) >> 5 == myWarp && stamp < _warpStamp[myWarp];

    private bool WriterConflicts(int i, int me, int e, int myWarp) =>
        _writerEpoch[i] == e && _writer[i] != me && !OrderedByWarpSync(_writer[i], _writerStamp[i], myWarp);

    private bool ReaderConflicts(int i, int me, int e, int myWarp) =>
        _readerEpoch[i] == e && _reader[i] != me
        && !(_readerWarp[i] == myWarp && _readerStamp[i] < _warpStamp[myWarp]);

    /// <summary>Records a plain read; returns the conflicting thread (linear id), <see cref="Several"/> or <see cref="None"/>.</summary>
    public int Read(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch, warp = thread >> 5;
        for (int i = offset; i < offset + size; i++)
        {
            if (WriterConflicts(i, me, e, warp)) return _writer[i] - 1;
            if (_atomicEpoch[i] == e && _atomic[i] != me) return Other(_atomic[i]);
            if (_readerEpoch[i] != e) { _readerEpoch[i] = e; _reader[i] = me; _readerWarp[i] = warp; }
            else
            {
                if (_reader[i] != me) _reader[i] = Many;
                if (_readerWarp[i] != warp) _readerWarp[i] = -1;
            }
            _readerStamp[i] = _warpStamp[warp];
        }
        return None;
    }

    /// <summary>Records a plain write; returns the conflicting thread, <see cref="Several"/> or <see cref="None"/>.</summary>
    public int Write(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch, warp = thread >> 5;
        for (int i = offset; i < offset + size; i++)
        {
            if (WriterConflicts(i, me, e, warp)) return _writer[i] - 1;
            if (ReaderConflicts(i, me, e, warp)) return Other(_reader[i]);
            if (_atomicEpoch[i] == e && _atomic[i] != me) return Other(_atomic[i]);
            _writerEpoch[i] = e; _writer[i] = me; _writerStamp[i] = _warpStamp[warp];
        }
        return None;
    }

    /// <summary>Records an atomic; conflicts only with other threads' plain accesses.</summary>
    public int Atomic(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch, warp = thread >> 5;
        for (int i = offset; i < offset + size; i++)
        {
            if (WriterConflicts(i, me, e, warp)) return _writer[i] - 1;
            if (ReaderConflicts(i, me, e, warp)) return Other(_reader[i]);
            if (_atomicEpoch[i] != e) { _atomicEpoch[i] = e; _atomic[i] = me; }
            else if (_atomic[i] != me) _atomic[i] = Many;
        }
        return None;
    }
}
