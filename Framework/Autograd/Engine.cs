namespace Framework.Autograd;

/// <summary>Records nodes and runs the reverse walk.</summary>
internal static class Engine
{
    // Each check also refuses a stale view (one taken before a recorded in-place op on its base), whose
    // grad fn would silently miss that op.
    public static bool NeedsGrad(Tensor a)
    {
        if (!GradMode.IsEnabled) return false;
        a.CheckViewIsCurrent();
        return a.RequiresGrad;
    }

    public static bool NeedsGrad(Tensor a, Tensor b)
    {
        if (!GradMode.IsEnabled) return false;
        a.CheckViewIsCurrent();
        b.CheckViewIsCurrent();
        return a.RequiresGrad || b.RequiresGrad;
    }

    public static bool NeedsGrad(IReadOnlyList<Tensor> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        bool any = false;
        foreach (var t in inputs)
        {
            t.CheckViewIsCurrent();
            any |= t.RequiresGrad;
        }
        return any;
    }

    /// <summary>Links <paramref name="node"/> to its inputs and makes it the creator of <paramref name="output"/>.</summary>
    public static Tensor Record(Node node, Tensor output, Tensor a)
    {
        node.Edges = [Edge.For(a)];
        AddEdgeRefs(node);
        output.SetRequiresGradFromOp(node);
        return output;
    }

    public static Tensor Record(Node node, Tensor output, Tensor a, Tensor b)
    {
        node.Edges = [Edge.For(a), Edge.For(b)];
        AddEdgeRefs(node);
        output.SetRequiresGradFromOp(node);
        return output;
    }

    public static Tensor Record(Node node, Tensor output, IReadOnlyList<Tensor> inputs)
    {
        var edges = new Edge[inputs.Count];
        for (int i = 0; i < edges.Length; i++) edges[i] = Edge.For(inputs[i]);
        node.Edges = edges;
        AddEdgeRefs(node);
        output.SetRequiresGradFromOp(node);
        return output;
    }

    /// <summary>Each node an edge leads to stays alive while <paramref name="node"/> does (see <see cref="Node.DropRef"/>).</summary>
    private static void AddEdgeRefs(Node node)
    {
        foreach (var e in node.Edges) e.Node?.AddRef();
    }

    public static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward: the tensor does not require grad and has no grad function");
        if (gradient is null && root.Numel != 1)
            throw new InvalidOperationException(
                $"Backward: a gradient can be created implicitly only for scalar outputs, got shape {Shapes.Format(root._shape)}; pass the gradient explicitly");
        if (gradient is not null)
        {
            if (!gradient._shape.AsSpan().SequenceEqual(root._shape))
                throw new ArgumentException(
                    $"Backward: gradient shape {Shapes.Format(gradient._shape)} does not match the output shape {Shapes.Format(root._shape)}");
            root.CheckSameKind(gradient, "Backward");
        }

        var order = root.GradFn is null ? [] : Collect(root.GradFn);
        foreach (var node in order)
            if (node.IsReleased)
                throw new InvalidOperationException(
                    "Trying to backward through the graph a second time (or to read saved tensors after they were freed). " +
                    "Pass retainGraph: true to the first Backward call if you need to backward twice.");

        using var noGrad = new NoGradScope();
        using var unscoped = TensorScope.Suppress();
        Tensor seed;
        if (gradient is null)
        {
            seed = Tensor.Empty(root._shape, root.DType, root.Device);
            seed.Backend.Fill(seed, 1.0);
        }
        else
        {
            // The engine disposes every gradient it consumes, so it must own the seed, never the caller's tensor.
            var c = gradient.Contiguous();
            seed = ReferenceEquals(c, gradient) ? c.Alias() : c;
        }

        t_pass++;
        var previousCallbacks = t_finalCallbacks;
        var finalCallbacks = t_finalCallbacks = [];
        try
        {
            if (root.GradFn is null)
            {
                AccumulateLeaf(root, seed);
                RunHook(root, null);
            }
            else Walk(root, order, seed, retainGraph);
            // Callbacks queued during the walk (Distributed's DDP: finish its gradient all-reduces).
            for (int i = 0; i < finalCallbacks.Count; i++) finalCallbacks[i]();
        }
        finally { t_finalCallbacks = previousCallbacks; }
    }

    private static void Walk(Tensor root, List<Node> order, Tensor seed, bool retainGraph)
    {
        // How many edges lead into each hooked leaf: its hook runs after the last one's gradient is
        // accumulated, i.e. when the leaf's gradient is final for this backward pass.
        Dictionary<Tensor, int>? pendingLeaves = null;
        foreach (var node in order)
            foreach (var e in node.Edges)
                if (e.Leaf is { PostAccumulateGradHook: not null } hooked)
                {
                    pendingLeaves ??= new(ReferenceEqualityComparer.Instance);
                    pendingLeaves[hooked] = pendingLeaves.GetValueOrDefault(hooked) + 1;
                }

        root.GradFn!.PendingGrad = seed;
        try
        {
            foreach (var node in order)
            {
                var grad = node.PendingGrad;
                if (grad is null) continue;
                node.PendingGrad = null;
                Tensor?[] grads;
                try { grads = node.Apply(grad); }
                finally { grad.Dispose(); }
                for (int i = 0; i < grads.Length; i++)
                {
                    var g = grads[i];
                    if (g is null) continue;
                    var edge = node.Edges[i];
                    if (edge.Node is { } next)
                    {
                        if (next.PendingGrad is null) next.PendingGrad = g;
                        else
                        {
                            var sum = next.PendingGrad.Add(g);
                            next.PendingGrad.Dispose();
                            g.Dispose();
                            next.PendingGrad = sum;
                        }
                    }
                    else if (edge.Leaf is { } leaf)
                    {
                        AccumulateLeaf(leaf, g);
                        RunHook(leaf, pendingLeaves);
                    }
                    else g.Dispose();
                }
            }
        }
        finally
        {
            foreach (var node in order)
            {
                node.PendingGrad?.Dispose();
                node.PendingGrad = null;
                if (!retainGraph) node.Release();
            }
        }
    }

    [ThreadStatic] private static List<Action>? t_finalCallbacks;
    [ThreadStatic] private static long t_pass;

    /// <summary>Numbers this thread's backward passes (a hook tells a new pass from the one it saw last).</summary>
    internal static long CurrentPass => t_pass;

    /// <summary>
    /// Runs <paramref name="callback"/> once the current backward pass has finished its walk (PyTorch's
    /// <c>Variable._execution_engine.queue_callback</c>); only valid from inside a backward pass (a hook).
    /// </summary>
    internal static void QueueCallback(Action callback) =>
        (t_finalCallbacks ?? throw new InvalidOperationException("Engine.QueueCallback: no backward pass is running on this thread")).Add(callback);

    // A leaf's post-accumulate hook runs once its last pending edge has delivered (or at once for a root leaf).
    private static void RunHook(Tensor leaf, Dictionary<Tensor, int>? pending)
    {
        if (leaf.PostAccumulateGradHook is not { } hook) return;
        if (pending is not null && pending.TryGetValue(leaf, out int left))
        {
            if (left > 1)
            {
                pending[leaf] = left - 1;
                return;
            }
            pending.Remove(leaf);
        }
        hook(leaf);
    }

    /// <summary>
    /// leaf.Grad += g. The first gradient becomes the leaf's own buffer: taken over as is when the
    /// engine holds the only reference to a dense storage of exactly that size (the usual case, and it
    /// saves a full copy of every parameter-sized gradient), copied otherwise.
    /// </summary>
    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad is null || leaf.Grad.IsDisposed)
        {
            var s = g.Storage;
            bool owned = g.IsContiguous && g.StorageOffset == 0 && s.IsExclusive && s.ByteLength == g.Numel * g.DType.ElementSize();
            if (owned)
            {
                leaf.Grad = g;
                return;
            }
            leaf.Grad = g.Clone();
        }
        else leaf.Grad.AddInPlace(g);
        g.Dispose();
    }

    /// <summary>The nodes reachable from <paramref name="root"/>, latest first (iterative; no recursion).</summary>
    private static List<Node> Collect(Node root)
    {
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<Node>();
        stack.Push(root);
        var list = new List<Node>();
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            list.Add(n);
            foreach (var e in n.Edges)
                if (e.Node is { } next && seen.Add(next)) stack.Push(next);
        }
        list.Sort(static (x, y) => y.Sequence.CompareTo(x.Sequence));
        return list;
    }
}
