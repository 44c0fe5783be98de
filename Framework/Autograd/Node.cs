namespace Framework.Autograd;

/// <summary>Where a gradient flows: into another node, or into a leaf's <see cref="Tensor.Grad"/>.</summary>
internal readonly struct Edge
{
    public readonly Node? Node;
    public readonly Tensor? Leaf;

    public Edge(Node? node, Tensor? leaf)
    {
        Node = node;
        Leaf = leaf;
    }

    public bool IsEmpty => Node is null && Leaf is null;

    public static Edge For(Tensor input) =>
        input.GradFn is { } fn ? new Edge(fn, null)
        : input.RequiresGrad ? new Edge(null, input)
        : default;
}

/// <summary>
/// One recorded op on the tape. Nodes are numbered in execution order; backward visits the nodes
/// reachable from the root in reverse of that order, which is a valid reverse topological order
/// because an op's inputs always exist before it runs.
/// </summary>
public abstract class Node
{
    private static long s_sequence;

    internal readonly long Sequence = Interlocked.Increment(ref s_sequence);
    internal Edge[] Edges = [];
    internal Tensor? PendingGrad;
    private List<SavedTensor>? _saved;

    // The graph's lifetime, as PyTorch's reference-counted nodes give it: a node is referenced by
    // the live tensors whose GradFn it is and by the edges of the live nodes recorded after it.
    // When the last reference goes (the output disposed, by hand or by its TensorScope, and
    // nothing downstream alive), the node frees what it saved and drops its own edges, so a
    // forward that never reaches Backward (evaluation, a loss that throws, retainGraph: true and no
    // second pass) leaves nothing behind once its tensors are disposed, without waiting for the GC.
    private int _refs;
    private int _dead;

    /// <summary>True after a backward pass without <c>retainGraph</c> freed what this node saved.</summary>
    public bool IsReleased { get; private set; }

    /// <summary>PyTorch-style name, e.g. <c>AddBackward</c>.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>The nodes (or leaves) gradients flow into, for inspection.</summary>
    public int InputCount => Edges.Length;

    /// <summary>
    /// Computes the gradient for each input from the gradient of the output. Returns one entry per
    /// input (null where an input needs none). Every returned tensor must be a distinct object owned
    /// by the caller (use <see cref="Tensor.Alias"/> to hand out the incoming gradient itself).
    /// </summary>
    internal abstract Tensor?[] Apply(Tensor grad);

    /// <summary>Keeps <paramref name="t"/> for backward, remembering its version.</summary>
    internal SavedTensor Save(Tensor t)
    {
        var saved = new SavedTensor(t);
        (_saved ??= []).Add(saved);
        return saved;
    }

    /// <summary>Frees tensors the node owns outright (not saved inputs), after backward or on release.</summary>
    internal virtual void ReleaseOwned() { }

    /// <summary>One more live tensor (whose GradFn this is) or live node (with an edge here) refers to this node.</summary>
    internal void AddRef() => Interlocked.Increment(ref _refs);

    /// <summary>
    /// Drops one reference to <paramref name="node"/>; the last one frees the node's saved tensors
    /// and drops its edges in turn, iteratively so that a long chain cannot overflow the stack.
    /// </summary>
    internal static void DropRef(Node node)
    {
        if (Interlocked.Decrement(ref node._refs) > 0) return;
        Stack<Node>? pending = null;
        var current = node;
        while (true)
        {
            if (Interlocked.Exchange(ref current._dead, 1) == 0)
            {
                current.Release();
                var edges = current.Edges;
                current.Edges = [];
                foreach (var e in edges)
                    if (e.Node is { } next && Interlocked.Decrement(ref next._refs) <= 0)
                        (pending ??= new()).Push(next);
            }
            if (pending is null || pending.Count == 0) return;
            current = pending.Pop();
        }
    }

    internal void Release()
    {
        if (IsReleased) return;
        IsReleased = true;
        ReleaseOwned();
        if (_saved is null) return;
        foreach (var s in _saved) s.Dispose();
        _saved = null;
    }

    /// <inheritdoc/>
    public override string ToString() => $"<{Name}>";
}

/// <summary>A tensor kept for backward with its own storage reference and the version it had when saved.</summary>
internal sealed class SavedTensor : IDisposable
{
    private Tensor? _alias;
    private readonly int _version;

    public SavedTensor(Tensor t)
    {
        _alias = t.Alias();
        _version = t.Storage.Version;
    }

    public Tensor Get()
    {
        var t = _alias ?? throw new InvalidOperationException(
            "Trying to backward through the graph a second time (or to read saved tensors after they were freed). " +
            "Pass retainGraph: true to the first Backward call if you need to backward twice.");
        int now = t.Storage.Version;
        if (now != _version)
            throw new InvalidOperationException(
                $"one of the tensors needed for gradient computation has been modified by an in-place operation: " +
                $"[{t.DType.Name()} {Shapes.Format(t._shape)}] is at version {now}; expected version {_version} instead");
        return t;
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _alias, null)?.Dispose();
    }
}
