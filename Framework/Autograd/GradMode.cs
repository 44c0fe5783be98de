namespace Framework.Autograd;

/// <summary>
/// Whether ops are recorded on the tape. Per thread, as PyTorch's grad mode is thread-local:
/// <see cref="Tensor.NoGrad"/> turns recording off on the calling thread only, and the thread that
/// opened a <see cref="NoGradScope"/> must dispose it.
/// </summary>
/// <remarks>
/// Why per thread and not <see cref="AsyncLocal{T}"/>: the <see cref="TensorScope"/> a training
/// step lives in is per thread too, so one rule covers both; it is what PyTorch users know; and the
/// check on every recorded op stays a thread-static read. The price is that a scope must not span
/// an <c>await</c> that can resume on another thread: open the scope after the await (or one scope
/// on each side). A scope disposed on the wrong thread does not corrupt anything: it gives the
/// opening thread its grad mode back and throws <see cref="InvalidOperationException"/> to report
/// the mistake.
/// </remarks>
public static class GradMode
{
    // One counter object per thread, reachable from the scopes opened on it, so that a scope
    // disposed on another thread can still give its count back to the thread that opened it.
    internal sealed class Depth
    {
        public int Value;
    }

    [ThreadStatic] private static Depth? t_depth;

    /// <summary>True unless inside a <see cref="Tensor.NoGrad"/> scope (or a backward pass) on this thread.</summary>
    public static bool IsEnabled => t_depth is not { Value: > 0 };

    internal static Depth Disable()
    {
        var d = t_depth ??= new Depth();
        Interlocked.Increment(ref d.Value);
        return d;
    }

    internal static void Restore(Depth d) => Interlocked.Decrement(ref d.Value);
}

/// <summary>
/// Turns off recording on the thread that created it until disposed; see <see cref="Tensor.NoGrad"/>.
/// Disposing twice is harmless. Disposing on another thread (for example after an <c>await</c>
/// that resumed elsewhere) restores the opening thread's grad mode and then throws
/// <see cref="InvalidOperationException"/>, because the code that ran on the other thread since
/// was recorded as usual, which is rarely what was meant.
/// </summary>
public sealed class NoGradScope : IDisposable
{
    private readonly GradMode.Depth _depth;
    private readonly int _threadId;
    private int _disposed;

    internal NoGradScope()
    {
        _depth = GradMode.Disable();
        _threadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>Turns recording back on (once) on the thread that opened the scope.</summary>
    /// <exception cref="InvalidOperationException">Disposed on another thread than the one that opened it (grad mode is restored first).</exception>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        GradMode.Restore(_depth);
        int here = Environment.CurrentManagedThreadId;
        if (here != _threadId)
            throw new InvalidOperationException(
                $"NoGrad scope opened on thread {_threadId} was disposed on thread {here}: grad mode is per thread (like PyTorch's), " +
                $"so the code that ran on thread {here} inside the scope was recorded as usual. Dispose the scope on the thread that opened it; " +
                "do not await inside it (open it after the await instead). Grad mode on the opening thread has been restored.");
    }
}
