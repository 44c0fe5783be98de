namespace Framework.Nn;

/// <summary>
/// Base of layers and models: named parameters, buffers and child modules registered explicitly
/// (no reflection), train/eval mode, state dicts with PyTorch's dotted keys, device moves.
/// </summary>
/// <remarks>
/// Registered tensors are owned by the module: they are kept out of any <see cref="TensorScope"/>
/// and disposed by <see cref="Dispose"/>. A module with a <see cref="Name"/> uses it as the prefix of
/// its state-dict keys when it is the root, and as its key when registered as a child without one.
/// </remarks>
public abstract class Module : IDisposable
{
    private sealed class Slot(string name, Tensor? value, bool persistent)
    {
        public string Name { get; } = name;
        public Tensor? Value { get; set; } = value;
        public bool Persistent { get; } = persistent;
    }

    private readonly List<Slot> _parameters = [];
    private readonly List<Slot> _buffers = [];
    private readonly List<(string Name, Module Module)> _children = [];

    /// <summary>Creates a module in training mode.</summary>
    protected Module(string? name = null) => Name = name;

    /// <summary>Optional layer name (state-dict prefix of a root module; default key as a child).</summary>
    public string? Name { get; }

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        foreach (var (_, child) in _children) child.Train(mode);
        return this;
    }

    /// <summary>Sets evaluation mode on this module and every descendant (PyTorch's <c>eval()</c>).</summary>
    public Module Eval() => Train(false);

    private static void CheckName(string name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{what} name must be non-empty and contain no '.', got \"{name}\"");
    }

    private void CheckFree(string name)
    {
        if (_parameters.Any(s => s.Name == name) || _buffers.Any(s => s.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{GetType().Name} already has a member named \"{name}\"");
    }

    private static Tensor? Adopt(Tensor? t)
    {
        if (t is not null) TensorScope.Current?.Forget(t);
        return t;
    }

    /// <summary>Registers a parameter (a leaf that requires grad), or a null placeholder.</summary>
    protected Tensor? RegisterParameter(string name, Tensor? parameter)
    {
        CheckName(name, "parameter");
        CheckFree(name);
        if (parameter is not null && !parameter.IsLeaf)
            throw new ArgumentException($"parameter \"{name}\" must be a leaf tensor; Detach() it first");
        if (parameter is not null && !parameter.RequiresGrad) parameter.RequiresGrad = true;
        _parameters.Add(new Slot(name, Adopt(parameter), true));
        return parameter;
    }

    /// <summary>Registers a buffer: state that is not trained (running statistics); persistent buffers go in the state dict.</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? buffer, bool persistent = true)
    {
        CheckName(name, "buffer");
        CheckFree(name);
        _buffers.Add(new Slot(name, Adopt(buffer), persistent));
        return buffer;
    }

    /// <summary>Registers a child module under <paramref name="name"/> (default: its <see cref="Name"/>).</summary>
    protected T RegisterModule<T>(T module, string? name = null) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        name ??= module.Name ?? throw new ArgumentException("a child module needs a name: pass one or give the module a Name");
        CheckName(name, "module");
        CheckFree(name);
        _children.Add((name, module));
        return module;
    }

    /// <summary>The current value of a registered parameter.</summary>
    protected Tensor? GetParameter(string name) => _parameters.First(s => s.Name == name).Value;

    /// <summary>The current value of a registered buffer.</summary>
    protected Tensor? GetBuffer(string name) => _buffers.First(s => s.Name == name).Value;

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>This module and all descendants with dotted paths ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedModules(Join(prefix, name)))
                yield return item;
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Parameters with dotted names, this module's first, then each child's in registration order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        foreach (var (path, m) in recurse ? NamedModules() : [("", this)])
            foreach (var s in m._parameters)
                if (s.Value is not null) yield return (Join(path, s.Name), s.Value);
    }

    /// <summary>All parameters (what an optimizer updates).</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    /// <summary>Buffers with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true)
    {
        foreach (var (path, m) in recurse ? NamedModules() : [("", this)])
            foreach (var s in m._buffers)
                if (s.Value is not null) yield return (Join(path, s.Name), s.Value);
    }

    private IEnumerable<(string Key, Module Owner, Slot Slot, bool IsParameter)> StateSlots()
    {
        string root = Name is null ? "" : Name;
        foreach (var (path, m) in NamedModules(root))
        {
            foreach (var s in m._parameters) if (s.Value is not null) yield return (Join(path, s.Name), m, s, true);
            foreach (var s in m._buffers) if (s.Value is not null && s.Persistent) yield return (Join(path, s.Name), m, s, false);
        }
    }

    /// <summary>
    /// Parameters and persistent buffers by dotted key (<c>layer1.bn.running_var</c>). The tensors are
    /// detached views of the module's own (no copy): clone them to keep a snapshot across training.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>();
        foreach (var (key, _, slot, _) in StateSlots()) dict[key] = slot.Value!.Detach();
        return dict;
    }

    /// <summary>
    /// Copies values from <paramref name="stateDict"/> into this module's tensors. Every key, shape,
    /// dtype and tensor (present, not disposed) is checked, and every tensor on another device is
    /// copied over, before anything is written, so a failed load changes nothing. With
    /// <paramref name="strict"/>, missing or unexpected keys are errors; otherwise they are reported.
    /// </summary>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        using var load = PrepareLoad(stateDict, strict);
        return load.Commit();
    }

    /// <summary>
    /// The checking half of <see cref="LoadStateDict"/>: validates everything and copies tensors
    /// from other devices, writing nothing into the module. <see cref="PreparedLoad.Commit"/> then
    /// writes and cannot fail; disposing an uncommitted load frees its copies and changes nothing.
    /// A checkpoint prepares the module, optimizer and schedule loads before it commits any.
    /// </summary>
    internal PreparedLoad PrepareLoad(IReadOnlyDictionary<string, Tensor> stateDict, bool strict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var slots = StateSlots().ToList();
        var known = slots.Select(s => s.Key).ToHashSet();
        var missing = slots.Where(s => !stateDict.ContainsKey(s.Key)).Select(s => s.Key).ToList();
        var unexpected = stateDict.Keys.Where(k => !known.Contains(k)).ToList();
        var problems = new List<string>();
        if (strict && missing.Count > 0) problems.Add("missing keys: " + string.Join(", ", missing));
        if (strict && unexpected.Count > 0) problems.Add("unexpected keys: " + string.Join(", ", unexpected));
        var plan = new List<PreparedLoad.Entry>();
        foreach (var (key, owner, slot, _) in slots)
        {
            if (!stateDict.TryGetValue(key, out var src)) continue;
            var dst = slot.Value!;
            // Shapes of disposed tensors still answer, so aliveness is checked before anything else.
            if (dst.IsDisposed) problems.Add($"{key}: the module's tensor was disposed (was the module disposed?)");
            else if (src is null) problems.Add($"{key}: null in the state dict, expected a tensor of shape {Shapes.Format(dst._shape)}");
            else if (src.IsDisposed) problems.Add($"{key}: the state dict's tensor was disposed");
            else if (!src._shape.AsSpan().SequenceEqual(dst._shape))
                problems.Add($"{key}: shape {Shapes.Format(src._shape)} in the state dict, {Shapes.Format(dst._shape)} in the module");
            else if (src.DType != dst.DType && !(src.DType.IsFloatingPoint() && dst.DType.IsFloatingPoint()))
                problems.Add($"{key}: dtype {src.DType.Name()} in the state dict, {dst.DType.Name()} in the module");
            else if (owner.CheckStateValue(slot.Name, src) is { } wrong) problems.Add($"{key}: {wrong}");
            else plan.Add(new PreparedLoad.Entry(key, owner, dst, src));
        }
        if (problems.Count > 0)
            throw new ArgumentException($"LoadStateDict for {GetType().Name} failed; nothing was loaded:\n  " + string.Join("\n  ", problems));
        var load = new PreparedLoad(plan, new LoadStateDictResult(missing, unexpected));
        try
        {
            // Device moves allocate and may fail (out of memory), so they all happen before the first write.
            using var noGrad = Tensor.NoGrad();
            foreach (var e in plan) e.Source = e.Src.To(e.Dst.Device);
        }
        catch
        {
            load.Dispose();
            throw;
        }
        return load;
    }

    /// <summary>A validated module load whose device copies are made; see <see cref="PrepareLoad"/>.</summary>
    internal sealed class PreparedLoad(List<PreparedLoad.Entry> plan, LoadStateDictResult result) : IDisposable
    {
        internal sealed class Entry(string key, Module owner, Tensor dst, Tensor src)
        {
            public string Key { get; } = key;
            public Module Owner { get; } = owner;
            public Tensor Dst { get; } = dst;
            public Tensor Src { get; } = src;
            public Tensor? Source { get; set; }
        }

        /// <summary>Writes every value; the checks in <see cref="PrepareLoad"/> leave nothing here that can fail.</summary>
        public LoadStateDictResult Commit()
        {
            using var noGrad = Tensor.NoGrad();
            foreach (var e in plan)
            {
                // CopyFrom converts between floating-point dtypes.
                e.Dst.CopyFrom(e.Source!);
                e.Owner.OnStateLoaded(e.Key);
            }
            return result;
        }

        public void Dispose()
        {
            foreach (var e in plan)
                if (e.Source is { } moved && !ReferenceEquals(moved, e.Src)) moved.Dispose();
        }
    }

    /// <summary>
    /// For modules whose state has a valid range: returns why <paramref name="value"/> (already of the
    /// right shape and dtype) cannot be loaded as this module's <paramref name="name"/>, or null.
    /// Called for every key before anything is written.
    /// </summary>
    protected virtual string? CheckStateValue(string name, Tensor value) => null;

    /// <summary>Called after a key of this module was loaded, for modules that keep derived state.</summary>
    protected virtual void OnStateLoaded(string key) { }

    /// <summary>Moves every parameter and buffer to <paramref name="device"/> (gradients are dropped).</summary>
    public Module To(Device device)
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var s in m._parameters)
            {
                if (s.Value is null || s.Value.Device == device) continue;
                using var noGrad = Tensor.NoGrad();
                var moved = s.Value.Detach().To(device);
                TensorScope.Current?.Forget(moved);
                moved.RequiresGrad = true;
                s.Value.Dispose();
                s.Value = moved;
            }
            foreach (var s in m._buffers)
            {
                if (s.Value is null || s.Value.Device == device) continue;
                var moved = s.Value.To(device);
                TensorScope.Current?.Forget(moved);
                s.Value.Dispose();
                s.Value = moved;
            }
        }
        return this;
    }

    /// <summary>Drops every parameter's gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters())
        {
            p.Grad?.Dispose();
            p.Grad = null;
        }
    }

    /// <summary>Disposes every parameter, gradient and buffer of this module and its children.</summary>
    public void Dispose()
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var s in m._parameters) { s.Value?.Grad?.Dispose(); s.Value?.Dispose(); }
            foreach (var s in m._buffers) s.Value?.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}

/// <summary>Keys a non-strict <see cref="Module.LoadStateDict"/> skipped.</summary>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
