using NUnit.Framework;

namespace Framework.Tests.Fuzz;

/// <summary>
/// Replays the fuzzing corpus through the same targets the harness fuzzes (tools/fuzz/run.sh): every
/// seed (Fuzz/Corpus/TARGET) parses without error, and every input a campaign found
/// (Fuzz/Findings/TARGET) now ends in the target's documented exception or parses; before its fix
/// each one crashed, hung or threw something undocumented. The findings' own tests, which check the
/// exact message, are in the parsers' test files.
/// </summary>
[TestFixture]
public class FuzzCorpusTests
{
    private static string Root => Path.Combine(AppContext.BaseDirectory, "Fuzz");

    private static IEnumerable<TestCaseData> Inputs(string kind) =>
        FuzzTargets.Names.SelectMany(t =>
        {
            var dir = Path.Combine(Root, kind, t);
            return Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(f => new TestCaseData(t, Path.GetFileName(f)).SetArgDisplayNames(t, Path.GetFileName(f))) : [];
        });

    private static IEnumerable<TestCaseData> Seeds() => Inputs("Corpus");

    private static IEnumerable<TestCaseData> Findings() => Inputs("Findings");

    [OneTimeTearDown]
    public void DeleteTemporaryInput() => FuzzTargets.DeleteTemp();

    [Test]
    public void EveryTargetHasSeeds()
    {
        foreach (var t in FuzzTargets.Names)
            Assert.That(Directory.Exists(Path.Combine(Root, "Corpus", t)) ? Directory.GetFiles(Path.Combine(Root, "Corpus", t)) : [], Is.Not.Empty, t);
    }

    [TestCaseSource(nameof(Seeds))]
    public void SeedParses(string target, string file)
    {
        using var scope = new TensorScope();
        Assert.That(() => FuzzTargets.RunUnchecked(target, File.ReadAllBytes(Path.Combine(Root, "Corpus", target, file))), Throws.Nothing);
    }

    [TestCaseSource(nameof(Findings))]
    public void FindingEndsInADocumentedException(string target, string file)
    {
        using var scope = new TensorScope();
        try
        {
            FuzzTargets.RunUnchecked(target, File.ReadAllBytes(Path.Combine(Root, "Findings", target, file)));
        }
        catch (Exception e) when (FuzzTargets.IsDocumented(target, e))
        {
            TestContext.Out.WriteLine($"{e.GetType().Name}: {e.Message}");
            Assert.That(e.Message, Has.Length.LessThan(1000), "a short message");
        }
    }
}
