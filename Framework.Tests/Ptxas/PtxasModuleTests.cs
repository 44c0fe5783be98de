using System.Collections.Concurrent;
using Framework.Cuda;
using NUnit.Framework;

namespace Framework.Tests.Ptxas;

/// <summary>
/// Every embedded module, exactly as cuModuleLoadDataEx receives it (KernelModules.AssembledTexts:
/// includes expanded, templates spliced), assembles with NVIDIA's ptxas for each supported
/// architecture with no error, no warning and no spill. With $PTXAS_OUT set, the modules, the ptxas
/// logs and one resource table per arch (markdown) are written there: tools/ptxas-check.sh prints
/// them and splices the sm_90 table into kernels/README.md.
/// </summary>
public class PtxasModuleTests
{
    public static readonly string[] Archs = ["sm_75", "sm_80", "sm_90"];

    /// <summary>The block size of the occupancy column: the launch size most kernels use.</summary>
    public const int OccupancyThreads = 256;

    [Test]
    public void EveryModuleAssemblesWithoutWarningsOrSpills()
    {
        string ptxas = PtxasTool.Require();
        string? outDir = Environment.GetEnvironmentVariable("PTXAS_OUT") is { Length: > 0 } o ? Path.GetFullPath(o) : null;
        string dir = outDir ?? Path.Combine(Path.GetTempPath(), "ptxas-modules-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var modules = KernelModules.AssembledTexts().ToArray();
            Assert.That(modules, Is.Not.Empty, "no embedded modules");
            foreach (var (file, text) in modules) File.WriteAllText(Path.Combine(dir, file), text);

            var problems = new ConcurrentBag<string>();
            var resources = new ConcurrentBag<KernelResources>();
            var jobs = modules.SelectMany(m => Archs.Select(a => (m.File, m.Text, Arch: a))).ToArray();
            Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
            {
                var (code, output) = PtxasTool.Assemble(ptxas, Path.Combine(dir, job.File), job.Arch, verbose: true);
                File.WriteAllText(Path.Combine(dir, $"{job.File}.{job.Arch}.log"), output);
                foreach (var line in PtxasTool.Complaints(output)) problems.Add($"{job.File} {job.Arch}: {line}");
                if (code != 0) problems.Add($"{job.File} {job.Arch}: ptxas exited with {code}");
                var parsed = PtxasResources.Parse(job.File, job.Arch, output);
                foreach (var k in parsed)
                {
                    resources.Add(k);
                    if (k.SpillBytes > 0) problems.Add($"{job.File} {job.Arch}: {k.Kernel} spills {k.SpillStoreBytes} bytes stored, {k.SpillLoadBytes} loaded");
                    if (k.StackBytes > 0) problems.Add($"{job.File} {job.Arch}: {k.Kernel} uses a {k.StackBytes}-byte stack frame");
                }
                if (code == 0)
                {
                    var expected = KernelTemplate.EntryNames(job.Text).ToHashSet();
                    var reported = parsed.Select(k => k.Kernel).ToHashSet();
                    if (!expected.SetEquals(reported))
                        problems.Add($"{job.File} {job.Arch}: ptxas -v reported {reported.Count} kernels, the module has {expected.Count}");
                }
            });

            foreach (var arch in Archs)
            {
                string table = PtxasResources.Table(resources, arch, OccupancyThreads);
                TestContext.Out.WriteLine($"## {arch} ({resources.Count(k => k.Arch == arch)} kernels)\n{table}");
                if (outDir is not null) File.WriteAllText(Path.Combine(dir, $"resources-{arch}.md"), table);
            }
            Assert.That(problems.OrderBy(p => p, StringComparer.Ordinal), Is.Empty, "ptxas rejected, warned about or spilled in an assembled module");
        }
        finally
        {
            if (outDir is null) Directory.Delete(dir, recursive: true);
        }
    }
}
