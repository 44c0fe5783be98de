namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Happens-before tracking for shared memory between barriers. Per byte it remembers the last writer
/// and the reader(s) in the current barrier epoch; a later access by another thread conflicts if either
/// side writes. A barrier starts a new epoch, which clears every byte at once without touching them.
/// Atomics are not tracked: they never race with each other (a known gap: atomic vs plain is not seen).
/// </summary>
internal sealed class SharedRaceTracker
{
    private const int ManyReaders = -1;
    private int[] _writer = Array.Empty<int>(), _writerEpoch = Array.Empty<int>();
    private int[] _reader = Array.Empty<int>(), _readerEpoch = Array.Empty<int>();
    // The epoch only grows (across blocks too), so stale entries from an older block never match.
    private int _epoch = 1;

    public void Resize(int bytes)
    {
        if (_writer.Length >= bytes) return;
        _writer = new int[bytes]; _writerEpoch = new int[bytes];
        _reader = new int[bytes]; _readerEpoch = new int[bytes];
    }

    public void Barrier() => _epoch++;

    /// <summary>Records a read; returns the conflicting writer thread (linear id) or -1.</summary>
    public int Read(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch;
        for (int i = offset; i < offset + size; i++)
        {
            if (_writerEpoch[i] == e && _writer[i] != me) return _writer[i] - 1;
            if (_readerEpoch[i] != e) { _readerEpoch[i] = e; _reader[i] = me; }
            else if (_reader[i] != me) _reader[i] = ManyReaders;
        }
        return -1;
    }

    /// <summary>Records a write; returns the conflicting thread (linear id), -2 for "several readers", or -1.</summary>
    public int Write(int offset, int size, int thread)
    {
        int me = thread + 1, e = _epoch;
        for (int i = offset; i < offset + size; i++)
        {
            if (_writerEpoch[i] == e && _writer[i] != me) return _writer[i] - 1;
            if (_readerEpoch[i] == e && _reader[i] != me) return _reader[i] == ManyReaders ? -2 : _reader[i] - 1;
            _writerEpoch[i] = e; _writer[i] = me;
        }
        return -1;
    }
}
