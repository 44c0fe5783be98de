namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Happens-before tracking for shared memory between barriers. Per byte it remembers, for the current
/// barrier epoch, the last plain writer, the plain reader(s) and the thread(s) that used atomics on it.
/// A plain access conflicts with another thread's plain write, a plain write with another thread's
/// read, and any plain access with another thread's atomic (mixing atomic and plain accesses without a
/// barrier is a race); atomics never conflict with each other. A barrier starts a new epoch, which
/// clears every byte at once without touching them.
/// </summary>
internal sealed class SharedRaceTracker
{
    /// <summary>Returned by the record methods: no conflict.</summary>
    public const int None = -1;
    /// <summary>Returned by the record methods: conflict with several other threads.</summary>
    public const int Several = -2;
    private const int Many = -1;

    private int[] _writer = Array.Empty<int>(), _writerEpoch = Array.Empty<int>();
    private int[] _reader = Array.Empty<int>(), _readerEpoch = Array.Empty<int>();
    private int[] _atomic = Array.Empty<int>(), _atomicEpoch = Array.Empty<int>();
    // The epoch only grows (across blocks too), so stale entries from an older block never match.
    private int _epoch = 1;

    public void Resize(int bytes)
    {
        if (_writer.Length >= bytes) return;
        _writer = new int[bytes]; _writerEpoch = new int[bytes];
        _reader = new int[bytes]; _readerEpoch = new int[bytes];
        _atomic = new int[bytes]; _atomicEpoch = new int[bytes];
    }

    public void Barrier() => _epoch++;

    private static int Other(int recorded) => recorded == Many ? Several : recorded - 1;

    /// <summary>Records a plain read; returns the conflicting thread (linear id), <see cref="Several"/> or <see cref="None"/>.</summary>
    public int Read(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch;
        for (int i = offset; i < offset + size; i++)
        {
            if (_writerEpoch[i] == e && _writer[i] != me) return _writer[i] - 1;
            if (_atomicEpoch[i] == e && _atomic[i] != me) return Other(_atomic[i]);
            if (_readerEpoch[i] != e) { _readerEpoch[i] = e; _reader[i] = me; }
            else if (_reader[i] != me) _reader[i] = Many;
        }
        return None;
    }

    /// <summary>Records a plain write; returns the conflicting thread, <see cref="Several"/> or <see cref="None"/>.</summary>
    public int Write(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch;
        for (int i = offset; i < offset + size; i++)
        {
            if (_writerEpoch[i] == e && _writer[i] != me) return _writer[i] - 1;
            if (_readerEpoch[i] == e && _reader[i] != me) return Other(_reader[i]);
            if (_atomicEpoch[i] == e && _atomic[i] != me) return Other(_atomic[i]);
            _writerEpoch[i] = e; _writer[i] = me;
        }
        return None;
    }

    /// <summary>Records an atomic; conflicts only with other threads' plain accesses.</summary>
    public int Atomic(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch;
        for (int i = offset; i < offset + size; i++)
        {
            if (_writerEpoch[i] == e && _writer[i] != me) return _writer[i] - 1;
            if (_readerEpoch[i] == e && _reader[i] != me) return Other(_reader[i]);
            if (_atomicEpoch[i] != e) { _atomicEpoch[i] = e; _atomic[i] = me; }
            else if (_atomic[i] != me) _atomic[i] = Many;
        }
        return None;
    }
}
