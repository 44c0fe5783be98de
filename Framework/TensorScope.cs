namespace Framework;

/// <summary>
/// Disposes, when it ends, every tensor created on this thread while it was the innermost scope,
/// except those moved out with <see cref="MoveOut"/> (to the enclosing scope, or to no scope) or
/// <see cref="Forget"/>. The device memory a training step creates goes back deterministically:
/// <code>
/// using (var scope = new TensorScope())
/// {
///     var loss = F.CrossEntropy(model.Forward(x), y);
///     loss.Backward();
///     optimizer.Step();
///     lastLoss = loss.Item();
/// }
/// </code>
/// Gradients written into leaves by backward and tensors saved for backward belong to no scope.
/// The graph a forward recorded lives as long as a tensor it produced does: when the scope disposes
/// them, the nodes free what they saved for backward, whether or not Backward ran, so evaluation
/// loops and losses that throw leave nothing behind. A result moved out keeps its whole graph, and
/// Backward through it still works after the scope ended.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? t_current;
    [ThreadStatic] private static int t_suppressed;

    private readonly TensorScope? _parent;
    private readonly List<Tensor> _tensors = [];
    private bool _disposed;

    /// <summary>Opens a scope that becomes the innermost on this thread.</summary>
    public TensorScope()
    {
        _parent = t_current;
        t_current = this;
    }

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => t_current;

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => _tensors.Count;

    internal static void Register(Tensor t)
    {
        if (t_suppressed == 0 && t_current is { } scope) scope._tensors.Add(t);
    }

    /// <summary>While the returned value is alive, new tensors are not registered in any scope.</summary>
    internal static SuppressScope Suppress() => new();

    internal struct SuppressScope : IDisposable
    {
        private bool _active;

        public SuppressScope()
        {
            _active = true;
            t_suppressed++;
        }

        public void Dispose()
        {
            if (!_active) return;
            _active = false;
            t_suppressed--;
        }
    }

    /// <summary>Keeps <paramref name="t"/> alive past this scope: it moves to the enclosing scope (or to none).</summary>
    public Tensor MoveOut(Tensor t)
    {
        if (Remove(t)) _parent?._tensors.Add(t);
        return t;
    }

    /// <summary>Removes <paramref name="t"/> from every scope's care; the caller disposes it.</summary>
    public Tensor Forget(Tensor t)
    {
        Remove(t);
        return t;
    }

    private bool Remove(Tensor t)
    {
        // Kept tensors are usually among the last created, so search from the end.
        for (int i = _tensors.Count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(_tensors[i], t))
            {
                _tensors.RemoveAt(i);
                return true;
            }
        }
        return false;
    }

    /// <summary>Disposes the scope's tensors and makes the enclosing scope innermost again.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (!ReferenceEquals(t_current, this))
            throw new InvalidOperationException("TensorScope disposed out of order: inner scopes must be disposed first (and on the thread that opened them)");
        _disposed = true;
        t_current = _parent;
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
