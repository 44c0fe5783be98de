using Framework.Nn;
using Framework.Optim;

namespace Framework.IO;

/// <summary>
/// Training checkpoints in one safetensors file: the module's state dict under its own PyTorch keys
/// (<c>conv1.weight</c>, <c>bn.running_var</c>, ...), the optimizer's flattened state dict under
/// <see cref="OptimizerPrefix"/> and a schedule's under <see cref="SchedulerPrefix"/>.
/// </summary>
/// <remarks>
/// One file rather than one per object: the rename that publishes it is atomic, so model and
/// optimizer state can never come from different epochs. PyTorch reads the weights with
/// <c>{k: v for k, v in safetensors.torch.load_file(p).items() if not k.startswith(("optimizer.", "scheduler."))}</c>.
/// <see cref="Load"/> validates the file, the schedule, optimizer and module state (keys, shapes,
/// dtypes, value ranges) and prepares every copy before writing anything, so a bad file never
/// leaves a model, optimizer or schedule half loaded.
/// </remarks>
public static class Checkpoint
{
    /// <summary>Key prefix of the optimizer's state (<c>optimizer.state.0.exp_avg</c>, <c>optimizer.param_groups.0.lr</c>).</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>Key prefix of the learning-rate schedule's state (<c>scheduler.last_epoch</c>).</summary>
    public const string SchedulerPrefix = "scheduler.";

    /// <summary>Writes the module (and optionally the optimizer and schedule) to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, Module module, Optimizer? optimizer = null, LRScheduler? scheduler = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = new TensorScope();
        var all = new Dictionary<string, Tensor>();
        foreach (var (k, t) in module.StateDict())
        {
            if (k.StartsWith(OptimizerPrefix, StringComparison.Ordinal) || k.StartsWith(SchedulerPrefix, StringComparison.Ordinal))
                throw new ArgumentException($"module key \"{k}\" collides with the checkpoint's reserved prefixes \"{OptimizerPrefix}\" and \"{SchedulerPrefix}\"");
            all[k] = t;
        }
        if (optimizer is not null) foreach (var (k, t) in optimizer.StateDict()) all[OptimizerPrefix + k] = t;
        if (scheduler is not null) foreach (var (k, t) in scheduler.StateDict()) all[SchedulerPrefix + k] = t;
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["module"] = module.GetType().Name };
        if (optimizer is not null) meta["optimizer"] = optimizer.GetType().Name;
        if (scheduler is not null) meta["scheduler"] = scheduler.GetType().Name;
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        Safetensors.Save(path, all, meta);
    }

    /// <summary>
    /// Loads a checkpoint written by <see cref="Save"/> (or model weights written by PyTorch) into
    /// <paramref name="module"/> and, when given, <paramref name="optimizer"/> and <paramref name="scheduler"/>.
    /// Everything is validated before anything is written. Returns the file's metadata.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Load(string path, Module module, Optimizer? optimizer = null, LRScheduler? scheduler = null,
        bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = new TensorScope();
        var (tensors, metadata) = Safetensors.LoadWithMetadata(path);
        var model = new Dictionary<string, Tensor>();
        var opt = new Dictionary<string, Tensor>();
        var sched = new Dictionary<string, Tensor>();
        foreach (var (k, t) in tensors)
        {
            if (k.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) opt[k[OptimizerPrefix.Length..]] = t;
            else if (k.StartsWith(SchedulerPrefix, StringComparison.Ordinal)) sched[k[SchedulerPrefix.Length..]] = t;
            else model[k] = t;
        }
        if (optimizer is not null && opt.Count == 0) throw new InvalidDataException($"checkpoint '{path}' holds no optimizer state (no \"{OptimizerPrefix}*\" keys)");
        if (scheduler is not null && sched.Count == 0) throw new InvalidDataException($"checkpoint '{path}' holds no schedule state (no \"{SchedulerPrefix}*\" keys)");
        // All or nothing across the three: each load is validated and prepared (device copies, the
        // optimizer's new buffers) before any is committed, and committing cannot fail.
        var schedState = scheduler?.ValidateStateDict(sched);
        using var optLoad = optimizer?.PrepareLoad(opt);
        using var moduleLoad = module.PrepareLoad(model, strict);
        moduleLoad.Commit();
        optLoad?.Commit();
        if (schedState is { } st) scheduler!.Apply(st);
        return metadata;
    }
}

/// <summary>Safetensors helpers on modules.</summary>
public static class ModuleSafetensorsExtensions
{
    /// <summary>Writes the module's state dict to <paramref name="path"/> in the safetensors format, atomically.</summary>
    public static void SaveSafetensors(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = new TensorScope();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        Safetensors.Save(path, module.StateDict(), meta);
    }

    /// <summary>
    /// Loads a safetensors file (for example one written by PyTorch's <c>save_file(model.state_dict())</c>)
    /// into the module; the file and every key, shape and dtype are validated before anything is written.
    /// For a file written by <see cref="Checkpoint.Save"/> with optimizer state, use <see cref="Checkpoint.Load"/>
    /// (with <paramref name="strict"/>, the optimizer's keys would be unexpected here).
    /// </summary>
    public static LoadStateDictResult LoadSafetensors(this Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = new TensorScope();
        return module.LoadStateDict(Safetensors.Load(path), strict);
    }
}
