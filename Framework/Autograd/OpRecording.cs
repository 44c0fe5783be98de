namespace Framework.Autograd;

/// <summary>One public op seen while an <see cref="OpRecording"/> sink was set: the op's name, its tensor inputs, its output and its non-tensor arguments.</summary>
public sealed record RecordedOp(string Op, IReadOnlyList<Tensor> Inputs, Tensor Output, object? Argument, object? Argument2);

/// <summary>
/// A light hook for exporters (ONNX): while a sink is set on a thread, the ops that have an export
/// form (elementwise arithmetic, Matmul, Sum, Mean, Softmax, LogSoftmax, Reshape, Permute, Cat, Relu)
/// report themselves after they ran, with the arguments the tape's nodes do not keep (dims,
/// keepDim, target shapes). Ops called inside other ops report too; an exporter follows the output
/// back and uses the last report of each tensor, the outermost op. With no sink the cost is one
/// thread-static read per op.
/// </summary>
public static class OpRecording
{
    [ThreadStatic] private static Action<RecordedOp>? t_sink;

    /// <summary>Sends the ops run on this thread to <paramref name="sink"/> until the returned scope is disposed (scopes nest).</summary>
    public static IDisposable Begin(Action<RecordedOp> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var previous = t_sink;
        t_sink = sink;
        return new Scope(previous);
    }

    internal static Tensor Note(Tensor y, string op, Tensor a, Tensor? b = null, object? argument = null, object? argument2 = null)
    {
        if (t_sink is { } sink) sink(new RecordedOp(op, b is null ? [a] : [a, b], y, argument, argument2));
        return y;
    }

    internal static Tensor NoteMany(Tensor y, string op, IReadOnlyList<Tensor> inputs, object? argument)
    {
        if (t_sink is { } sink) sink(new RecordedOp(op, [.. inputs], y, argument, null));
        return y;
    }

    private sealed class Scope(Action<RecordedOp>? previous) : IDisposable
    {
        public void Dispose() => t_sink = previous;
    }
}
