using System.Globalization;

namespace Framework.Optim;

// The optimizer state dict: PyTorch's nested {"state": {i: {...}}, "param_groups": [{...}]} flattened
// to dotted keys so it is a plain name -> tensor map that safetensors can hold:
//   state.{i}.step                 int64 scalar, updates applied to parameter i (Adam/AdamW only)
//   state.{i}.{buffer}             momentum_buffer (SGD), exp_avg, exp_avg_sq, max_exp_avg_sq (Adam)
//   param_groups.{g}.params        int64 vector of the parameter indices i in group g
//   param_groups.{g}.{option}      float64 scalar: lr, weight_decay, momentum, beta1, ... (flags 0/1)
// i numbers the parameters across all groups in order, as PyTorch packs them. A parameter that has
// not been stepped yet has no state keys.
public abstract partial class Optimizer
{
    /// <summary>
    /// The state as a flat name-to-tensor map (keys in the class remarks of this file: <c>state.{i}.exp_avg</c>,
    /// <c>state.{i}.step</c>, <c>param_groups.{g}.lr</c>, ...). Buffers are detached views of the live
    /// state, not copies; scalars are new tensors.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>();
        int index = 0;
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g];
            var ids = new long[group.Params.Count];
            for (int k = 0; k < ids.Length; k++, index++)
            {
                ids[k] = index;
                if (!_state.TryGetValue(group.Params[k], out var s) || (s.Buffers.Count == 0 && s.Step == 0)) continue;
                if (HasStepState) dict[$"state.{index}.step"] = Tensor.Scalar(s.Step, DType.Int64);
                foreach (var (name, t) in s.Buffers) dict[$"state.{index}.{name}"] = t.Detach();
            }
            dict[$"param_groups.{g}.params"] = Tensor.FromArray(ids);
            foreach (var (name, v) in group.Options) dict[$"param_groups.{g}.{name}"] = Tensor.Scalar(v, DType.Float64);
        }
        return dict;
    }

    /// <summary>
    /// Replaces the state and the groups' hyperparameters with those of <paramref name="stateDict"/>.
    /// Everything is checked first (group count and sizes, known keys, every tensor present and not
    /// disposed, every required buffer present, shapes, dtypes, value ranges), then the new state is
    /// built beside the old one; only when all of it exists does it replace the old state. On any
    /// problem nothing changes and the exception lists every problem.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        using var load = PrepareLoad(stateDict);
        load.Commit();
    }

    /// <summary>
    /// The checking half of <see cref="LoadStateDict"/>: validates, then builds the new state beside
    /// the old one (allocation and device copies may fail here, with nothing changed).
    /// <see cref="PreparedLoad.Commit"/> swaps it in and cannot fail; disposing an uncommitted load
    /// frees what it built.
    /// </summary>
    internal PreparedLoad PrepareLoad(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var plan = ValidateStateDict(stateDict);
        var all = _groups.SelectMany(x => x.Params).ToList();
        var fresh = new Dictionary<Tensor, ParamState>(ReferenceEqualityComparer.Instance);
        void Discard()
        {
            foreach (var s in fresh.Values)
                foreach (var t in s.Buffers.Values) t.Dispose();
            fresh.Clear();
        }
        try
        {
            using var noGrad = Tensor.NoGrad();
            foreach (var (i, (step, buffers)) in plan.States)
            {
                var p = all[i];
                var s = new ParamState { Step = step };
                fresh[p] = s;
                foreach (var (name, src) in buffers)
                {
                    var buf = NewBuffer(p);
                    s.Buffers[name] = buf;
                    var moved = src.To(p.Device);
                    try { buf.CopyFrom(moved); }
                    finally { if (!ReferenceEquals(moved, src)) moved.Dispose(); }
                }
            }
        }
        catch
        {
            Discard();
            throw;
        }
        return new PreparedLoad(() =>
        {
            ClearState();
            foreach (var (p, s) in fresh) _state[p] = s;
            foreach (var (g, o) in plan.Options)
                foreach (var (name, v) in o) _groups[g].SetUnchecked(name, v);
        }, Discard);
    }

    /// <summary>A validated optimizer load with its new state built; see <see cref="PrepareLoad"/>.</summary>
    internal sealed class PreparedLoad(Action commit, Action discard) : IDisposable
    {
        private bool _committed;

        /// <summary>Replaces the optimizer's state and hyperparameters with the prepared ones.</summary>
        public void Commit()
        {
            commit();
            _committed = true;
        }

        /// <summary>Frees the prepared buffers unless they were committed (then the optimizer owns them).</summary>
        public void Dispose()
        {
            if (!_committed) discard();
        }
    }

    internal sealed record LoadPlan(
        Dictionary<int, Dictionary<string, double>> Options,
        Dictionary<int, (long Step, Dictionary<string, Tensor> Buffers)> States);

    /// <summary>Checks <paramref name="stateDict"/> against this optimizer without changing anything; throws listing every problem.</summary>
    internal LoadPlan ValidateStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var all = _groups.SelectMany(x => x.Params).ToList();
        var options = new Dictionary<int, Dictionary<string, double>>();
        var stateKeys = new Dictionary<int, Dictionary<string, Tensor>>();
        var groupParams = new Dictionary<int, Tensor>();
        foreach (var (key, t) in stateDict)
        {
            // Read nothing from a tensor that is gone: its shape would still answer, its data not.
            if (t is null) { problems.Add($"\"{key}\": null, expected a tensor"); continue; }
            if (t.IsDisposed) { problems.Add($"\"{key}\": the tensor was disposed"); continue; }
            var parts = key.Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                problems.Add($"unexpected key \"{key}\" (expected state.{{i}}.{{name}} or param_groups.{{g}}.{{name}})");
                continue;
            }
            if (parts[0] == "param_groups")
            {
                if (n >= _groups.Count) { problems.Add($"\"{key}\": the optimizer has {_groups.Count} parameter group(s)"); continue; }
                if (parts[2] == "params") { groupParams[n] = t; continue; }
                if (!_defaults.ContainsKey(parts[2]) && parts[2] != "initial_lr") { problems.Add($"\"{key}\": {GetType().Name} has no hyperparameter \"{parts[2]}\""); continue; }
                if (t.Numel != 1 || t.Dim != 0) { problems.Add($"\"{key}\": expected a scalar, got shape {Shapes.Format(t.Shape)}"); continue; }
                double v = t.Item();
                if (!double.IsFinite(v)) { problems.Add($"\"{key}\": expected a finite value, got {v}"); continue; }
                (options.TryGetValue(n, out var o) ? o : options[n] = [])[parts[2]] = v;
            }
            else if (parts[0] == "state")
            {
                if (n >= all.Count) { problems.Add($"\"{key}\": the optimizer has {all.Count} parameter(s)"); continue; }
                (stateKeys.TryGetValue(n, out var s) ? s : stateKeys[n] = [])[parts[2]] = t;
            }
            else problems.Add($"unexpected key \"{key}\" (expected state.{{i}}.{{name}} or param_groups.{{g}}.{{name}})");
        }
        int start = 0;
        for (int g = 0; g < _groups.Count; start += _groups[g].Params.Count, g++)
        {
            if (!groupParams.TryGetValue(g, out var ids)) { problems.Add($"missing key \"param_groups.{g}.params\""); }
            else if (ids.DType != DType.Int64 || ids.Dim != 1 || !ids.ToArray<long>().SequenceEqual(Enumerable.Range(start, _groups[g].Params.Count).Select(x => (long)x)))
                problems.Add($"\"param_groups.{g}.params\": expected the int64 indices {start}..{start + _groups[g].Params.Count - 1} (group {g} has {_groups[g].Params.Count} parameter(s)), got {ids.DType.Name()} {Shapes.Format(ids.Shape)}");
            var o = options.TryGetValue(g, out var found) ? found : options[g] = [];
            foreach (var name in _defaults.Keys.Where(k => !o.ContainsKey(k))) problems.Add($"missing key \"param_groups.{g}.{name}\"");
            if (_defaults.Keys.All(o.ContainsKey))
            {
                try { ValidateOptions(o); }
                catch (ArgumentException e) { problems.Add($"param_groups.{g}: {e.Message}"); }
            }
        }
        var states = new Dictionary<int, (long, Dictionary<string, Tensor>)>();
        foreach (var (i, entries) in stateKeys.OrderBy(e => e.Key))
        {
            int g = GroupOf(i);
            var required = StateNames(options[g].Count > 0 && _defaults.Keys.All(options[g].ContainsKey) ? options[g] : _groups[g].Options).ToList();
            if (HasStepState) required.Add("step");
            foreach (var name in required.Where(r => !entries.ContainsKey(r))) problems.Add($"missing key \"state.{i}.{name}\"");
            foreach (var name in entries.Keys.Where(k => !required.Contains(k))) problems.Add($"unexpected key \"state.{i}.{name}\"");
            long step = 0;
            var buffers = new Dictionary<string, Tensor>();
            foreach (var (name, t) in entries)
            {
                if (!required.Contains(name)) continue;
                if (name == "step")
                {
                    double v = t.Numel == 1 ? t.Item() : double.NaN;
                    // 2^63 is the first double beyond long's range; a larger step would wrap when cast.
                    if (t.Dim != 0 || !(v >= 0) || v != Math.Floor(v) || v >= 9223372036854775808.0) problems.Add($"\"state.{i}.step\": expected a non-negative integer scalar, got {t.DType.Name()} {Shapes.Format(t.Shape)}");
                    else step = (long)v;
                    continue;
                }
                var p = all[i];
                if (!t.Shape.AsSpan().SequenceEqual(p.Shape)) problems.Add($"\"state.{i}.{name}\": shape {Shapes.Format(t.Shape)} in the state dict, {Shapes.Format(p.Shape)} for the parameter");
                else if (!t.DType.IsFloatingPoint()) problems.Add($"\"state.{i}.{name}\": expected a floating-point tensor, got {t.DType.Name()}");
                else buffers[name] = t;
            }
            states[i] = (step, buffers);
        }
        if (problems.Count > 0)
            throw new ArgumentException($"{GetType().Name}.LoadStateDict failed; nothing was loaded:\n  " + string.Join("\n  ", problems));
        return new LoadPlan(options, states);
    }

    private int GroupOf(int index)
    {
        for (int g = 0; g < _groups.Count; g++)
        {
            if (index < _groups[g].Params.Count) return g;
            index -= _groups[g].Params.Count;
        }
        throw new ArgumentOutOfRangeException(nameof(index));
    }
}
