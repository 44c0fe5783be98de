namespace Framework.Autograd;

/// <summary>Whether ops are recorded on the tape on this thread. Turned off by <see cref="Tensor.NoGrad"/>.</summary>
public static class GradMode
{
    [ThreadStatic] private static int t_disabledDepth;

    /// <summary>True unless inside a <see cref="Tensor.NoGrad"/> scope (or a backward pass).</summary>
    public static bool IsEnabled => t_disabledDepth == 0;

    internal static void Disable() => t_disabledDepth++;

    internal static void Restore() => t_disabledDepth--;
}

/// <summary>Scope that turns off recording until disposed; see <see cref="Tensor.NoGrad"/>.</summary>
public struct NoGradScope : IDisposable
{
    private bool _active;

    internal NoGradScope(bool active)
    {
        _active = active;
        if (active) GradMode.Disable();
    }

    /// <summary>Turns recording back on (once).</summary>
    public void Dispose()
    {
        if (!_active) return;
        _active = false;
        GradMode.Restore();
    }
}
