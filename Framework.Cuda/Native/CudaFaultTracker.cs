namespace Framework.Cuda.Native;

/// <summary>
/// Turns driver status codes into <see cref="CudaException"/>s that name the kernel at fault. Kernels run
/// asynchronously, so a fault inside one (an illegal address, say) surfaces at some later, unrelated
/// call, and it is sticky: the context is unusable for the rest of the process and every later call
/// fails with the same code. Left alone, one bad kernel reads as hundreds of failures in copies, frees
/// and other kernels. This class remembers the last launch, attributes a sticky code to it (the probable
/// culprit; exactly it in blocking mode, where every launch is followed by a synchronize), keeps that
/// original fault, and fails every later call with it before the driver is even asked.
/// </summary>
/// <remarks>
/// One tracker per <see cref="NativeCudaDriver"/>, i.e. per device's primary context, where a sticky
/// error lives. Separate from the driver so its logic is testable without libcuda.
/// </remarks>
internal sealed class CudaFaultTracker
{
    /// <summary>The environment variables that turn blocking mode on: ours, and CUDA's own.</summary>
    public const string BlockingVariable = "FRAMEWORK_CUDA_LAUNCH_BLOCKING";

    /// <summary>CUDA's own variable, honoured too (the driver also serializes launches under it).</summary>
    public const string CudaBlockingVariable = "CUDA_LAUNCH_BLOCKING";

    private readonly Func<int, string> _describe;
    private readonly Lock _gate = new();
    private string? _lastLaunch;
    private CudaException? _fault;
    private bool _faultExact; // blocking mode saw the kernel fail; otherwise the kernel is the last one launched

    /// <param name="describe">The driver's "CUDA_ERROR_X: text" for a status.</param>
    /// <param name="blocking">Whether every launch is followed by a synchronize (<see cref="Blocking"/>).</param>
    public CudaFaultTracker(Func<int, string> describe, bool blocking)
    {
        _describe = describe;
        Blocking = blocking;
    }

    /// <summary>Whether launches synchronize, so a kernel's fault is reported at its own launch.</summary>
    public bool Blocking { get; }

    /// <summary>The first sticky fault seen, or null while the context is healthy.</summary>
    public CudaException? Fault
    {
        get { lock (_gate) return _fault; }
    }

    /// <summary>
    /// Whether <paramref name="environment"/> asks for blocking launches: <c>FRAMEWORK_CUDA_LAUNCH_BLOCKING</c>
    /// or <c>CUDA_LAUNCH_BLOCKING</c> set to 1 (or true/yes/on).
    /// </summary>
    /// <param name="environment">Reads one environment variable (null when unset).</param>
    public static bool BlockingRequested(Func<string, string?> environment) =>
        IsOn(environment(BlockingVariable)) || IsOn(environment(CudaBlockingVariable));

    private static bool IsOn(string? value) =>
        value?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";

    /// <summary>
    /// Whether <paramref name="error"/> poisons the context (the driver documents these as leaving the
    /// process in an inconsistent state in which all further CUDA work returns the same error).
    /// </summary>
    /// <param name="error">A driver status.</param>
    public static bool IsSticky(CudaError error) => error is CudaError.IllegalAddress or CudaError.LaunchTimeout
        or CudaError.Assert or CudaError.HardwareStackError or CudaError.IllegalInstruction
        or CudaError.MisalignedAddress or CudaError.InvalidAddressSpace or CudaError.InvalidPc
        or CudaError.LaunchFailed;

    /// <summary>Fails <paramref name="call"/> at once, naming the original fault, if the context is poisoned.</summary>
    /// <param name="call">The entry point about to be called.</param>
    public void ThrowIfPoisoned(string call)
    {
        CudaException fault;
        string summary;
        bool exact;
        lock (_gate)
        {
            if (_fault is null) return;
            fault = _fault;
            summary = Summary();
            exact = _faultExact;
        }
        throw new CudaException(fault.Error, call,
            $"not attempted: the CUDA context has been unusable since an earlier fault, {summary}. " +
            "Every CUDA call in this process now fails; restart the process" +
            (exact ? "" : $" (with {BlockingVariable}=1 to have the faulting kernel named exactly)"))
        { FaultingKernel = fault.FaultingKernel };
    }

    /// <summary>Records a launch the driver accepted, the suspect for a later asynchronous fault.</summary>
    /// <param name="launch">
    /// The kernel and its shape, e.g. <c>'relu_f32' (elementwise.ptx), grid (4, 1, 1), block (256, 1, 1)</c>.
    /// </param>
    public void Launched(string launch)
    {
        lock (_gate) _lastLaunch = launch;
    }

    /// <summary>
    /// Throws for a failed status. A sticky one is attributed to the last launch (named as the probable
    /// culprit) and kept, so every later call fails with it too.
    /// </summary>
    /// <param name="status">The call's status; 0 returns.</param>
    /// <param name="call">The entry point, e.g. <c>cuMemcpyDtoH_v2</c>.</param>
    /// <param name="context">What the call was doing (sizes, names), or null.</param>
    public void Check(int status, string call, string? context = null)
    {
        if (status == 0) return;
        var error = (CudaError)status;
        string described = context is null ? _describe(status) : $"{_describe(status)} ({context})";
        if (!IsSticky(error)) throw new CudaException(error, call, described);
        lock (_gate)
        {
            if (_fault is not null) throw Repeat(call);
            string? suspect = _lastLaunch;
            string blame = suspect is null
                ? "no kernel had been launched on this context by this driver"
                : $"an asynchronous fault, probably in the last kernel launched, {suspect}; set {BlockingVariable}=1 " +
                  "to have every launch synchronize and the faulting kernel named exactly";
            _faultExact = false;
            throw _fault = new CudaException(error, call,
                $"{described}: {blame}. The CUDA context is now unusable; every later call fails with this error")
            { FaultingKernel = suspect };
        }
    }

    /// <summary>
    /// In blocking mode, the status of the synchronize that follows a launch: a failure is that
    /// kernel's own, so it is named as certain, not as a suspect.
    /// </summary>
    /// <param name="status">The synchronize's status; 0 returns.</param>
    /// <param name="launch">The kernel just launched and its shape, as given to <see cref="Launched"/>.</param>
    public void CheckCompleted(int status, string launch)
    {
        if (status == 0) return;
        var error = (CudaError)status;
        string who = launch;
        string described = $"{_describe(status)}: kernel {who} faulted " +
            "(reported by the synchronize that follows every launch in blocking mode)";
        if (!IsSticky(error)) throw new CudaException(error, "cuCtxSynchronize", described) { FaultingKernel = who };
        lock (_gate)
        {
            if (_fault is not null) throw Repeat("cuCtxSynchronize");
            _faultExact = true;
            throw _fault = new CudaException(error, "cuCtxSynchronize",
                $"{described}. The CUDA context is now unusable; every later call fails with this error")
            { FaultingKernel = who };
        }
    }

    // Both called under _gate with _fault set.
    private CudaException Repeat(string call) =>
        new(_fault!.Error, call, $"the CUDA context has been unusable since an earlier fault, {Summary()}")
        { FaultingKernel = _fault.FaultingKernel };

    private string Summary() =>
        $"{_fault!.Error} ({(int)_fault.Error}) first reported by {_fault.Call}" +
        (_fault.FaultingKernel is null ? " with no kernel launched before it"
            : _faultExact ? $", raised by kernel {_fault.FaultingKernel}"
            : $", probably from kernel {_fault.FaultingKernel} (the last launched)");
}
