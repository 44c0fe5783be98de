using System.CommandLine;
using Framework;
using Framework.Backends;
using Framework.Cuda;
using Framework.Cuda.Emulator;

namespace Digits;

/// <summary>
/// The command line of the sample. Every user error (bad option, unreadable data, a checkpoint that
/// does not fit) ends in one line on stderr and exit code 2; a finished run returns 0.
/// </summary>
public static class DigitsApp
{
    /// <summary>Exit code for bad arguments and unreadable data.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Runs the program. <paramref name="output"/> receives progress as plain lines (a live
    /// progress bar is used only when it is null and the console is interactive);
    /// <paramref name="error"/> receives the one-line errors (default: stderr).
    /// </summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        error ??= Console.Error;
        var device = new Option<string>("--device") { Description = "cpu, cuda or emulated (the PTX interpreter)", DefaultValueFactory = _ => "cpu" };
        device.AcceptOnlyFromAmong("cpu", "cuda", "emulated");
        var epochs = new Option<int>("--epochs") { Description = "epochs to train (in total, when resuming)", DefaultValueFactory = _ => 12 };
        var batch = new Option<int>("--batch-size") { Description = "samples per batch", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate (cosine-annealed over the epochs)", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<ulong>("--seed") { Description = "seed of weights, split and shuffling", DefaultValueFactory = _ => 0 };
        var data = new Option<string?>("--data") { Description = "directory with IDX files (train-/t10k-images-idx3-ubyte[.gz], ...), e.g. Fashion-MNIST; default: the bundled digits" };
        var outDir = new Option<string>("--out") { Description = "directory for checkpoint.safetensors, metrics.svg and metrics.csv", DefaultValueFactory = _ => "digits-out" };
        var resume = new Option<bool>("--resume") { Description = "continue from the checkpoint in --out" };
        var limit = new Option<int>("--limit") { Description = "use at most this many training and held-out images (0: all)", DefaultValueFactory = _ => 0 };
        var distributed = new Option<bool>("--distributed")
        {
            Description = "data-parallel over the processes of `mpirun -np N` (DistributedDataParallel + SyncBatchNorm; " +
                "--batch-size is the global batch, split evenly; only rank 0 prints and writes files)",
        };
        var root = new RootCommand("Trains a small CNN (Conv-BatchNorm-ReLU-Conv-InstanceNorm-ReLU-MaxPool-Linear) on handwritten digits.")
        {
            device, epochs, batch, lr, seed, data, outDir, resume, limit, distributed,
        };
        var parsed = root.Parse(args);
        if (args.Any(a => a is "--help" or "-h" or "-?" or "--version")) return parsed.Invoke();
        if (parsed.Errors.Count > 0) return Fail(error, parsed.Errors[0].Message);
        var o = new TrainingOptions(parsed.GetValue(device)!, parsed.GetValue(epochs), parsed.GetValue(batch), parsed.GetValue(lr),
            parsed.GetValue(seed), parsed.GetValue(data), parsed.GetValue(outDir)!, parsed.GetValue(resume), parsed.GetValue(limit))
        { Distributed = parsed.GetValue(distributed) };
        if (o.Epochs <= 0) return Fail(error, $"--epochs must be positive, got {o.Epochs}");
        if (o.BatchSize <= 0) return Fail(error, $"--batch-size must be positive, got {o.BatchSize}");
        if (!(o.Lr > 0) || !double.IsFinite(o.Lr)) return Fail(error, $"--lr must be a positive number, got {o.Lr}");
        if (o.Limit < 0) return Fail(error, $"--limit must be 0 (all) or positive, got {o.Limit}");
        if (ResolveDevice(o.Device, out var why) is not { } dev) return Fail(error, $"--device {o.Device}: {why}");
        Framework.Distributed.ProcessGroup? group = null;
        if (o.Distributed)
        {
            if (!Framework.Distributed.ProcessGroup.IsAvailable)
                return Fail(error, "--distributed needs Open MPI (libmpi.so.40: apt-get install openmpi-bin) and mpirun -np N");
            group = Framework.Distributed.ProcessGroup.FromEnvironment();
            if (o.BatchSize % group.WorldSize != 0)
            {
                int code = Fail(error, $"--batch-size {o.BatchSize} must be divisible by the {group.WorldSize} processes (it is the global batch)");
                group.Dispose();
                return code;
            }
            // Only rank 0 reports progress.
            if (group.Rank != 0) output = TextWriter.Null;
        }
        try
        {
            return new Trainer(o, dev, output, group).Run();
        }
        catch (UsageException e)
        {
            return Fail(error, e.Message);
        }
        catch (NotSupportedException e) when (o.Device != "cpu")
        {
            // A backend that lacks an op the network needs (a build without some kernels) says which one.
            return Fail(error, $"--device {o.Device}: {e.Message}");
        }
        catch (Exception e) when (group is not null)
        {
            // Another rank would wait in a collective: end the whole job now with this rank's reason.
            group.Abort($"Digits failed: {e.Message}");
            throw;
        }
        finally
        {
            group?.Dispose();
        }
    }

    /// <summary>
    /// The device for the option with its backend registered and opened, or null with the reason: the
    /// native driver is probed first, so a machine without an NVIDIA driver or GPU gets the driver's
    /// one-line explanation instead of an exception. "emulated" runs the same CUDA backend, PTX and all,
    /// in the PTX interpreter (slow, but it needs no GPU).
    /// </summary>
    private static Device? ResolveDevice(string name, out string why)
    {
        why = "";
        switch (name)
        {
            case "cuda":
                if (NativeCudaDriver.Probe(0) is { } reason)
                {
                    why = "no usable CUDA GPU: " + reason;
                    return null;
                }
                CudaBackend.Register();
                break;
            case "emulated":
                EmulatedCuda.Register();
                break;
        }
        var device = name switch { "cuda" => Device.Cuda(0), "emulated" => Device.CudaEmulated(0), _ => Device.Cpu };
        try
        {
            BackendRegistry.Get(device);
            return device;
        }
        catch (Exception e) when (e is InvalidOperationException or CudaException)
        {
            why = e.Message;
            return null;
        }
    }

    /// <summary>Folds a multi-line message (a state-dict problem list) into one line.</summary>
    internal static string OneLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : lines.Skip(1).Aggregate(lines[0], (acc, l) => acc + (acc.EndsWith(':') ? " " : "; ") + l);
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine("error: " + OneLine(message));
        return UsageError;
    }
}

/// <summary>A problem the user can fix (unreadable data, a checkpoint that does not fit): reported in one line with exit code 2.</summary>
public sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);
