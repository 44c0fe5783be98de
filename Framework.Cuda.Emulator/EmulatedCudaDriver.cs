using System.Runtime.InteropServices;
using Framework.Cuda;
using Framework.Cuda.Emulator.Execution;
using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator;

/// <summary>
/// An <see cref="ICudaDriver"/> that runs PTX in a managed interpreter and checks it like a sanitizer
/// (see <see cref="EmulatorCheck"/>). Work is synchronous: every call completes before it returns, so
/// streams only need to exist. Allocations are exact-size, so bounds checks are exact.
/// </summary>
public sealed class EmulatedCudaDriver : ICudaDriver
{
    /// <summary>Device limits the launch checks enforce (those of every GPU since sm_30).</summary>
    public const int MaxThreadsPerBlock = 1024, MaxBlockDimX = 1024, MaxBlockDimY = 1024, MaxBlockDimZ = 64,
        MaxGridDimY = 65535, MaxGridDimZ = 65535, MaxSharedBytesPerBlock = 48 * 1024;
    /// <summary>Largest grid x extent, 2^31 - 1.</summary>
    public const uint MaxGridDimX = int.MaxValue;

    // One call at a time, like a context used from several host threads: the handle tables and the
    // allocation list are not safe to change while a launch reads them.
    private readonly Lock _gate = new();
    private readonly DeviceMemory _memory = new();
    private readonly Dictionary<nint, PtxModule> _modules = new();
    private readonly Dictionary<nint, PtxKernel> _functions = new();
    private readonly HashSet<nint> _streams = new();
    private nint _nextHandle = 1;
    private EmulatorCounters _totals = EmulatorCounters.Zero;
    private bool _disposed;

    /// <summary>Creates an emulated device.</summary>
    /// <param name="maxDegreeOfParallelism">Worker threads that run blocks of one launch; defaults to the processor count.</param>
    public EmulatedCudaDriver(int? maxDegreeOfParallelism = null)
    {
        MaxDegreeOfParallelism = maxDegreeOfParallelism ?? Environment.ProcessorCount;
        if (MaxDegreeOfParallelism < 1) throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), maxDegreeOfParallelism, "must be at least 1");
        Device = new CudaDeviceInfo("Emulated PTX device", 7, 0, 8UL << 30, Environment.ProcessorCount,
            MaxThreadsPerBlock, MaxSharedBytesPerBlock, 32, 12040);
    }

    /// <inheritdoc />
    public CudaDeviceInfo Device { get; }

    /// <summary>Worker threads that run the blocks of one launch.</summary>
    public int MaxDegreeOfParallelism { get; }

    /// <summary>
    /// Watchdog against hangs in CI: a block that executes more thread-instructions than this fails the
    /// launch with <see cref="EmulatorCheck.InstructionLimitExceeded"/>. Default 2^32 (tens of seconds).
    /// </summary>
    public long MaxInstructionsPerBlock { get; set; } = 1L << 32;

    /// <summary>
    /// Byte that new allocations, and each block's shared and local memory, are filled with before use.
    /// Real device memory starts with unspecified contents; the default 0xFF (NaN for floats, -1 for
    /// integers) makes code that reads memory it never wrote fail loudly. Set 0 to mimic zeroed memory.
    /// </summary>
    public byte PoisonByte
    {
        get => _memory.Fill;
        set => _memory.Fill = value;
    }

    /// <summary>
    /// Checking mode (default on): blocks of a launch run interleaved on one host thread in a seeded
    /// order (see <see cref="InterleaveSeed"/>) and global memory is race-checked
    /// (<see cref="EmulatorCheck.GlobalRace"/>). Off: blocks run in parallel on
    /// <see cref="MaxDegreeOfParallelism"/> threads, one after another within each, without the race check.
    /// The initialisation checks (<see cref="EmulatorCheck.UninitializedGlobalRead"/>,
    /// <see cref="EmulatorCheck.UninitializedSharedRead"/>) run either way.
    /// </summary>
    public bool Checking { get; set; } = true;

    /// <summary>
    /// Seed of the block interleaving in checking mode; launch number k of this driver uses
    /// <c>InterleaveSeed + k</c>, so every launch gets its own order and a run is reproducible.
    /// </summary>
    public int InterleaveSeed { get; set; } = 9;

    private int _launchNumber;
    // One tracker per driver (launches are serialised by _gate), so its page pool outlives a launch.
    private readonly GlobalRaceTracker _races = new();

    /// <summary>Counters of the most recent kernel launch (zero before the first).</summary>
    public EmulatorCounters LastLaunch { get; private set; } = EmulatorCounters.Zero;

    /// <summary>Counters summed over every launch and sgemm since creation or <see cref="ResetCounters"/>.</summary>
    public EmulatorCounters Totals => _totals;

    /// <summary>Bytes of device memory currently allocated.</summary>
    public ulong LiveBytes => _memory.LiveBytes;

    /// <summary>Sets <see cref="Totals"/> and <see cref="LastLaunch"/> to zero.</summary>
    public void ResetCounters()
    {
        using var scope = _gate.EnterScope();
        _totals = EmulatorCounters.Zero;
        LastLaunch = EmulatorCounters.Zero;
    }

    /// <inheritdoc />
    public ulong Allocate(ulong bytes)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        return _memory.Allocate(bytes);
    }

    /// <inheritdoc />
    public void Free(ulong devicePointer)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        _memory.Free(devicePointer);
    }

    /// <inheritdoc />
    public void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        source.CopyTo(_memory.WriteRange(destination, (ulong)source.Length, "cuMemcpyHtoD_v2", "destination"));
    }

    /// <inheritdoc />
    public void CopyDeviceToHost(Span<byte> destination, ulong source)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        _memory.Range(source, (ulong)destination.Length, "cuMemcpyDtoH_v2", "source").CopyTo(destination);
    }

    /// <inheritdoc />
    public void CopyDeviceToDevice(ulong destination, ulong source, ulong bytes)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        _memory.CopyWithin(destination, source, bytes, "cuMemcpyDtoD_v2");
    }

    /// <inheritdoc />
    public void MemsetD8(ulong destination, byte value, ulong count)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        _memory.WriteRange(destination, count, "cuMemsetD8_v2", "destination").Fill(value);
    }

    /// <inheritdoc />
    public void MemsetD32(ulong destination, uint value, ulong count)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        if (destination % 4 != 0) throw new CudaException(CudaError.InvalidValue, "cuMemsetD32_v2", $"destination 0x{destination:X} is not 4-byte aligned");
        MemoryMarshal.Cast<byte, uint>(_memory.WriteRange(destination, count * 4, "cuMemsetD32_v2", "destination")).Fill(value);
    }

    /// <inheritdoc />
    public CudaModule LoadModule(string ptx, string name)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(ptx);
        var module = PtxParser.Parse(ptx, name);
        var handle = _nextHandle++;
        _modules[handle] = module;
        return new CudaModule(handle);
    }

    /// <inheritdoc />
    public void UnloadModule(CudaModule module)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        if (!_modules.Remove(module.Handle, out var m))
            throw new CudaException(CudaError.InvalidHandle, "cuModuleUnload", $"module handle {module.Handle} is not loaded");
        foreach (var (h, k) in _functions.ToList())
            if (m.Kernels.ContainsValue(k)) _functions.Remove(h);
    }

    /// <inheritdoc />
    public CudaFunction GetFunction(CudaModule module, string name)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        if (!_modules.TryGetValue(module.Handle, out var m))
            throw new CudaException(CudaError.InvalidHandle, "cuModuleGetFunction", $"module handle {module.Handle} is not loaded");
        if (!m.Kernels.TryGetValue(name, out var kernel))
            throw new CudaException(CudaError.NotFound, "cuModuleGetFunction",
                $"module '{m.Name}' has no kernel '{name}'; it has: {string.Join(", ", m.Kernels.Keys.Order())}");
        foreach (var (h, k) in _functions) if (ReferenceEquals(k, kernel)) return new CudaFunction(h);
        var handle = _nextHandle++;
        _functions[handle] = kernel;
        return new CudaFunction(handle);
    }

    /// <inheritdoc />
    public void Launch(CudaFunction function, Dim3 grid, Dim3 block, uint dynamicSharedBytes, CudaStream stream, ReadOnlySpan<byte> parameters)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        if (!_functions.TryGetValue(function.Handle, out var kernel))
            throw new CudaException(CudaError.InvalidHandle, "cuLaunchKernel", $"function handle {function.Handle} is not a loaded kernel");
        if (stream.Handle != 0 && !_streams.Contains(stream.Handle))
            throw new CudaException(CudaError.InvalidHandle, "cuLaunchKernel", $"stream handle {stream.Handle} does not exist");
        int sharedBytes = LaunchValidation.Validate(kernel, grid, block, dynamicSharedBytes, parameters.Length);
        var ctx = new LaunchContext
        {
            Kernel = kernel, Grid = grid, Block = block, Parameters = parameters.ToArray(),
            Memory = _memory, SharedBytes = sharedBytes, MaxInstructionsPerBlock = MaxInstructionsPerBlock,
            PoisonByte = PoisonByte,
            Races = Checking ? _races : null,
            InterleaveSeed = unchecked(InterleaveSeed + _launchNumber++),
        };
        if (Checking && grid.Volume > GlobalRaceTracker.MaxBlocks)
            throw new EmulatorCheckException(EmulatorCheck.Unsupported, kernel.Name, 0, null, null,
                $"checking mode tracks at most {GlobalRaceTracker.MaxBlocks} blocks per launch, the grid has {grid.Volume}; set Checking = false");
        var counters = BlockScheduler.Run(ctx, MaxDegreeOfParallelism);
        LastLaunch = counters;
        _totals += counters;
    }

    /// <inheritdoc />
    public CudaStream CreateStream()
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        var handle = _nextHandle++;
        _streams.Add(handle);
        return new CudaStream(handle);
    }

    /// <inheritdoc />
    public void DestroyStream(CudaStream stream)
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        if (!_streams.Remove(stream.Handle))
            throw new CudaException(CudaError.InvalidHandle, "cuStreamDestroy_v2", $"stream handle {stream.Handle} does not exist");
    }

    /// <inheritdoc />
    public void Synchronize()
    {
        // Every call completes before it returns, so there is nothing to wait for.
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
    }

    /// <inheritdoc />
    public void Sgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha,
        ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
        Gemm("cublasSgemm_v2", transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);

    /// <inheritdoc />
    public void SgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) =>
        Gemm("cublasSgemmStridedBatched", transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);

    /// <inheritdoc />
    public void Dgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha,
        ulong a, int lda, ulong b, int ldb, double beta, ulong c, int ldc) =>
        Gemm("cublasDgemm_v2", transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);

    /// <inheritdoc />
    public void DgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double beta, ulong c, int ldc, long strideC, int batchCount) =>
        Gemm("cublasDgemmStridedBatched", transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);

    /// <summary>Every BLAS entry point: the emulated product under the driver lock, counted as one BLAS call.</summary>
    private void Gemm<T>(string call, BlasOperation transA, BlasOperation transB, int m, int n, int k, T alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, T beta, ulong c, int ldc, long strideC, int batchCount)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        using var scope = _gate.EnterScope();
        ThrowIfDisposed();
        var (read, written) = EmulatedBlas.Gemm(_memory, call, transA, transB, m, n, k, alpha,
            a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batchCount);
        _totals += new EmulatorCounters { BlasCalls = 1, GlobalBytesRead = read, GlobalBytesWritten = written };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        using var scope = _gate.EnterScope();
        _disposed = true;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
