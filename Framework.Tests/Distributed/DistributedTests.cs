using System.Diagnostics;
using NUnit.Framework;

namespace Framework.Tests.Distributed;

/// <summary>
/// The multi-process tests: each case starts <c>mpirun -np 2 dotnet Framework.Distributed.Tests.dll &lt;case&gt;</c>
/// (the runner project of the solution, built with it) and reads the ranks' verdicts. Ignored with the
/// reason where Open MPI's mpirun is absent, except under CI=true, where that is a failure
/// (.ci/distributed-setup.sh installs openmpi-bin). Every launch has a hard deadline, so a hang fails
/// the test instead of the suite.
/// </summary>
[TestFixture]
[NonParallelizable]
public class DistributedTests
{
    private const int Ranks = 2;
    private string _runner = "";
    private string _mpirun = "";

    [OneTimeSetUp]
    public void FindTools()
    {
        _mpirun = FindOnPath("mpirun") ?? "";
        if (_mpirun.Length == 0)
        {
            const string why = "Open MPI's mpirun is not installed (apt-get install openmpi-bin); the multi-process tests need it";
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(why + " and CI=true requires them");
            Assert.Ignore(why);
        }
        // bin/<Configuration>/<tfm> of this assembly; the runner is built into the same layout.
        var testDir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        string tfm = testDir.Name, configuration = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Framework.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, $"Framework.sln not found above {testDir.FullName}");
        _runner = Path.Combine(root!.FullName, "Framework.Distributed.Tests", "bin", configuration, tfm, "Framework.Distributed.Tests.dll");
        Assert.That(File.Exists(_runner), Is.True, $"the multi-process runner {_runner} is missing: build Framework.sln");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private (int Code, string Output, TimeSpan Elapsed) Launch(string testCase, string device = "cpu", double timeoutS = 30, int hardLimitS = 240, int ranks = Ranks) =>
        LaunchProgram([_runner, testCase, device], timeoutS, hardLimitS, ranks);

    /// <summary>mpirun -np 2 dotnet with <paramref name="dotnetArgs"/> (a dll and its arguments), under a hard deadline.</summary>
    private (int Code, string Output, TimeSpan Elapsed) LaunchProgram(string[] dotnetArgs, double timeoutS = 30, int hardLimitS = 240, int ranks = Ranks)
    {
        string what = string.Join(" ", dotnetArgs.Select(Path.GetFileName));
        var psi = new ProcessStartInfo(_mpirun)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // As root (CI) Open MPI refuses to start without these; in a container, shared memory without CMA.
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "dotnet" }.Concat(dotnetArgs))
            psi.ArgumentList.Add(a);
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
        psi.Environment["DIST_TEST_TIMEOUT_S"] = timeoutS.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["TERM"] = "dumb";
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(hardLimitS)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.Fail($"mpirun {what} did not finish within {hardLimitS} s (a hang); output:\n{stdout.Result}\n{stderr.Result}");
        }
        return (p.ExitCode, stdout.Result + "\n" + stderr.Result, clock.Elapsed);
    }

    private void Passes(string testCase, string device)
    {
        var (code, output, _) = Launch(testCase, device);
        Assert.That(code, Is.EqualTo(0), $"mpirun {testCase} {device} failed:\n{output}");
        for (int r = 0; r < Ranks; r++)
            Assert.That(output, Does.Contain($"rank {r}: PASS {testCase}"), $"rank {r} gave no verdict:\n{output}");
    }

    [TestCase("cpu")]
    [TestCase("emulated")]
    public void Collectives(string device) => Passes("collectives", device);

    [TestCase("cpu")]
    [TestCase("emulated")]
    public void SyncBatchNormEqualsBatchNorm2dOverTheWholeBatch(string device) => Passes("syncbn", device);

    [TestCase("cpu")]
    [TestCase("emulated")]
    public void DistributedDataParallelEqualsOneProcessOnTheWholeBatch(string device) => Passes("ddp", device);

    /// <summary>
    /// CUDA tensors through NCCL on a real GPU: one rank (NCCL refuses two ranks on one GPU, and the GPU
    /// machines here have one), which still runs the bootstrap over MPI and every NCCL call. Ignored with the
    /// reason where there is no GPU or no libnccl.so.2.
    /// </summary>
    [Test]
    [Category(TestDevices.CudaNativeCategory)]
    public void CollectivesOnCudaThroughNccl()
    {
        if (Framework.Cuda.NativeCudaDriver.Probe(0) is { } why) Assert.Ignore($"no usable CUDA GPU: {why}");
        if (Framework.Distributed.ProcessGroup.NcclUnavailableReason is { } missing) Assert.Ignore($"NCCL unavailable: {missing}");
        var (code, output, _) = Launch("collectives", "cuda", ranks: 1);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("rank 0: PASS collectives"), output);
    }

    /// <summary>Digits --distributed (2 processes, DDP + SyncBatchNorm) reaches the single process's held-out accuracy; only rank 0 prints.</summary>
    [Test]
    public void DigitsDistributedReachesTheSingleProcessAccuracy()
    {
        string dir = Path.Combine(Path.GetTempPath(), "DigitsDistributed-" + Guid.NewGuid().ToString("N"));
        try
        {
            var single = new StringWriter();
            Assert.That(global::Digits.DigitsApp.Run(["--epochs", "3", "--out", Path.Combine(dir, "one")], single), Is.EqualTo(0), single.ToString());
            string digits = Path.Combine(TestContext.CurrentContext.TestDirectory, "Digits.dll");
            var (code, output, _) = LaunchProgram([digits, "--epochs", "3", "--distributed", "--out", Path.Combine(dir, "two")]);
            Assert.That(code, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("distributed: 2 processes"), output);
            Assert.That(output.Split('\n').Count(l => l.StartsWith("done: held-out accuracy", StringComparison.Ordinal)), Is.EqualTo(1), "only rank 0 prints:\n" + output);
            static double Accuracy(string text) => double.Parse(System.Text.RegularExpressions.Regex.Match(text, @"done: held-out accuracy ([0-9.]+) %").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            // The sampler shards the same seeded permutation, so the global batches are the single run's:
            // the runs differ only by rounding (measured: identical accuracy).
            Assert.That(Accuracy(output), Is.EqualTo(Accuracy(single.ToString())).Within(1.0), $"single:\n{single}\ndistributed:\n{output}");
            Assert.That(File.Exists(Path.Combine(dir, "two", "checkpoint.safetensors")), Is.True, "rank 0 writes the checkpoint");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            // The in-process run's garbage is finalized here, not during a later test that counts live storages.
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Test]
    public void StalledRankMakesTheOthersAbortWithinTheTimeout()
    {
        var (code, output, elapsed) = Launch("stall", timeoutS: 3);
        Assert.That(code, Is.Not.EqualTo(0), output);
        Assert.That(output, Does.Contain("did not complete within 3 s"), output);
        Assert.That(output, Does.Not.Contain("PASS"), output);
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), $"the stall was noticed only after {elapsed}");
    }

    [Test]
    public void ThrowingRankAbortsTheJobAtOnce()
    {
        var (code, output, elapsed) = Launch("throw");
        Assert.That(code, Is.Not.EqualTo(0), output);
        Assert.That(output, Does.Contain("deliberate failure on rank 1 mid-step"), output);
        Assert.That(output, Does.Not.Contain("PASS"), output);
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), $"took {elapsed}: the abort did not end the job at once");
    }

    [Test]
    public void KilledRankEndsTheSurvivorWithinTheTimeout()
    {
        var (code, output, elapsed) = Launch("kill", timeoutS: 5);
        Assert.That(code, Is.Not.EqualTo(0), output);
        // mpirun notices the dead rank and ends the job; were it not to, the survivor's deadline would.
        Assert.That(output, Does.Contain("exited on signal 9").Or.Contain("did not complete within 5 s"), output);
        Assert.That(output, Does.Not.Contain("rank 0: PASS"), output);
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), $"took {elapsed}");
    }
}
