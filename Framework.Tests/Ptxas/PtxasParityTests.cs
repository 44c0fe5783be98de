using System.Collections.Concurrent;
using System.Text;
using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.Ptxas;

/// <summary>
/// Front-end parity by differential testing: every mutant of the corpus (PtxMutator: single mutations
/// of the real assembled modules, deterministic seed) goes through ptxas (-arch=sm_75, the modules'
/// target) and through the emulator's module load (parse + static validation). An input that ptxas
/// rejects and the emulator accepts is a failure; the reverse (the emulator stricter) is allowed and
/// counted. The corpus is regenerated on every run, so the parity re-runs in CI where ptxas exists;
/// no verdicts are committed.
/// </summary>
public class PtxasParityTests
{
    private static List<PtxMutant> Corpus() => PtxMutator.Corpus(KernelModules.AssembledTexts());

    [Test]
    public void TheCorpusIsDeterministicLargeAndCoversEveryOperator()
    {
        var a = Corpus();
        var b = Corpus();
        Assert.That(a.Select(m => m.Text), Is.EqualTo(b.Select(m => m.Text)), "the same seed must give the same corpus");
        Assert.That(a, Has.Count.GreaterThanOrEqualTo(400));
        var operators = a.Select(m => m.Operator).ToHashSet();
        Assert.That(operators, Has.Count.GreaterThanOrEqualTo(28), "operators that produced no mutant: the kernels changed or an operator's pattern broke");
    }

    [Test]
    public void SeedKernelsAreAcceptedByBoth()
    {
        string ptxas = PtxasTool.Require();
        var seeds = PtxMutator.SeedKernels(KernelModules.AssembledTexts());
        var dir = Directory.CreateTempSubdirectory("ptxas-seeds-");
        try
        {
            var problems = new ConcurrentBag<string>();
            Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, s =>
            {
                string file = Path.Combine(dir.FullName, s.Kernel + ".ptx");
                File.WriteAllText(file, s.Text);
                var (code, output) = PtxasTool.Assemble(ptxas, file, "sm_75", verbose: false);
                if (code != 0) problems.Add($"ptxas rejects seed {s.Kernel}: {output}");
                if (EmulatorVerdict(s.Text, s.Kernel) is { } reason) problems.Add($"emulator rejects seed {s.Kernel}: {reason}");
            });
            Assert.That(problems, Is.Empty);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Test]
    public void PtxasRejectsNothingThatTheEmulatorAccepts()
    {
        string ptxas = PtxasTool.Require();
        var corpus = Corpus();
        var dir = Directory.CreateTempSubdirectory("ptxas-mutants-");
        var verdicts = new ConcurrentDictionary<string, (bool Ptxas, string PtxasLog, string? Emulator)>();
        try
        {
            Parallel.ForEach(corpus, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, m =>
            {
                string file = Path.Combine(dir.FullName, m.Id + ".ptx");
                File.WriteAllText(file, m.Text);
                var (code, output) = PtxasTool.Assemble(ptxas, file, "sm_75", verbose: false);
                verdicts[m.Id] = (code == 0, output, EmulatorVerdict(m.Text, m.Kernel));
            });
        }
        finally { dir.Delete(recursive: true); }

        int agree = 0, stricter = 0;
        var missed = new List<string>();
        var report = new StringBuilder();
        foreach (var m in corpus)
        {
            var (ptxasOk, log, emu) = verdicts[m.Id];
            bool emuOk = emu is null;
            if (ptxasOk == emuOk) agree++;
            else if (ptxasOk) { stricter++; report.AppendLine($"stricter: {m.Id}: {m.Description} -> emulator: {emu}"); }
            else
            {
                string firstError = log.Split('\n').FirstOrDefault(l => l.Contains("error", StringComparison.Ordinal))?.Trim() ?? log.Trim();
                missed.Add($"{m.Id}: {m.Description} -> ptxas: {firstError}");
            }
        }
        string summary = $"corpus {corpus.Count} mutants of {corpus.Select(m => m.Kernel).Distinct().Count()} kernels, {corpus.Select(m => m.Operator).Distinct().Count()} operators: " +
            $"agree {agree} ({100.0 * agree / corpus.Count:F1} %), emulator stricter {stricter}, ptxas stricter {missed.Count}; " +
            $"ptxas rejects {verdicts.Values.Count(v => !v.Ptxas)}";
        TestContext.Out.WriteLine(summary);
        TestContext.Out.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("PTXAS_OUT") is { Length: > 0 } outDir)
        {
            Directory.CreateDirectory(outDir);
            File.WriteAllText(Path.Combine(outDir, "parity.txt"), summary + "\n" + string.Join("\n", missed) + "\n" + report);
        }
        Assert.That(missed, Is.Empty, "inputs that ptxas rejects and the emulator accepts");
    }

    /// <summary>The emulator's verdict on a module: null when it loads, else the reason.</summary>
    private static string? EmulatorVerdict(string text, string kernel)
    {
        try
        {
            using var driver = new EmulatedCudaDriver(1);
            driver.LoadModule(text, kernel + ".ptx");
            return null;
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message.Split('\n')[0];
        }
    }
}
