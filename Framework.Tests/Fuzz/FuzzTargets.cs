using System.Text;
using Digits;
using Framework.Cuda.Emulator;
using Framework.Data;
using Framework.IO;
using Framework.Nn;
using Framework.Optim;

namespace Framework.Tests.Fuzz;

/// <summary>
/// The parsers that read untrusted input, each with the exceptions it documents for bad input. The
/// fuzzing harness (tools/fuzz) feeds AFL++'s inputs through <see cref="Run"/>, and
/// <c>FuzzCorpusTests</c> replays the committed seeds and findings through the same code: any other
/// exception (IndexOutOfRange, Overflow, NullReference, OutOfMemory, ...) escapes and is a bug.
/// </summary>
/// <remarks>
/// Shared as source with tools/fuzz/Fuzz.csproj, so it must not depend on NUnit. Parsers that take a
/// path get the input through a temporary file of the process.
/// </remarks>
public static class FuzzTargets
{
    /// <summary>Target names: the corpus folders under Framework.Tests/Fuzz/Corpus.</summary>
    public static readonly string[] Names = ["safetensors", "checkpoint", "idx", "digits-csv", "ptx"];

    /// <summary>The documented bad-input exceptions of each target.</summary>
    public static bool IsDocumented(string target, Exception e) => target switch
    {
        "safetensors" or "idx" or "digits-csv" => e is InvalidDataException,
        // Checkpoint.Load: a malformed file (InvalidDataException) or state that does not fit the
        // model, optimizer or schedule (ArgumentException); the sample's metadata: UsageException.
        "checkpoint" => e is InvalidDataException or ArgumentException or UsageException,
        // What the driver's cuModuleLoadData answers for text the front end rejects.
        "ptx" => e is PtxParseException,
        _ => false,
    };

    [ThreadStatic] private static string? s_file;
    [ThreadStatic] private static EmulatedCudaDriver? s_driver;

    /// <summary>Runs one input through <paramref name="target"/>; documented exceptions are swallowed, any other escapes.</summary>
    public static void Run(string target, byte[] input)
    {
        try
        {
            RunUnchecked(target, input);
        }
        catch (Exception e) when (IsDocumented(target, e))
        {
        }
    }

    /// <summary>Runs one input and lets every exception out (the regression tests check the type themselves).</summary>
    public static void RunUnchecked(string target, byte[] input)
    {
        switch (target)
        {
            case "safetensors":
                {
                    var (tensors, _) = Safetensors.LoadWithMetadata(WriteTemp(input));
                    foreach (var t in tensors.Values) t.Dispose();
                    break;
                }
            case "checkpoint":
                LoadCheckpoint(WriteTemp(input));
                break;
            case "idx":
                Idx.Read(WriteTemp(input));
                break;
            case "digits-csv":
                DigitsCsv.Load(WriteTemp(input));
                break;
            case "ptx":
                {
                    // The driver receives text: bytes that are not UTF-8 arrive as replacement characters.
                    s_driver ??= new EmulatedCudaDriver(maxDegreeOfParallelism: 1);
                    var module = s_driver.LoadModule(Encoding.UTF8.GetString(input), "fuzz.ptx");
                    s_driver.UnloadModule(module);
                    break;
                }
            default:
                throw new ArgumentException($"unknown fuzz target \"{target}\"; expected one of {string.Join(", ", Names)}");
        }
    }

    /// <summary>The checkpoint target's model: small, but with norm buffers, an optimizer and a schedule.</summary>
    public static (Sequential Model, Adam Optimizer, CosineAnnealingLR Scheduler) CheckpointSubjects()
    {
        var model = new Sequential(new BatchNorm2d(2), new Flatten(), new Linear(2, 2, generator: new Generator(1)));
        var opt = new Adam(model.Parameters(), 0.01);
        return (model, opt, new CosineAnnealingLR(opt, 5));
    }

    /// <summary>Metadata the checkpoint seed carries, as the Digits sample writes it.</summary>
    public const string CheckpointData = "fuzz";

    private static void LoadCheckpoint(string path)
    {
        using var scope = new TensorScope();
        var (model, opt, sched) = CheckpointSubjects();
        using (model)
        using (opt)
        {
            var meta = Checkpoint.Load(path, model, opt, sched);
            ResumeMetadata.Read(meta, path, 0, CheckpointData);
        }
    }

    /// <summary>Deletes this thread's temporary input file.</summary>
    public static void DeleteTemp()
    {
        if (s_file is not null && File.Exists(s_file)) File.Delete(s_file);
    }

    private static string WriteTemp(byte[] input)
    {
        s_file ??= Path.Combine(Path.GetTempPath(), $"framework-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(s_file, input);
        return s_file;
    }
}
