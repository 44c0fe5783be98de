using NUnit.Framework;

namespace Framework.Tests;

/// <summary>Fixtures that write files: a fresh temporary directory and a tensor scope per test, both cleaned up after.</summary>
public abstract class TempDirectoryTestBase
{
    /// <summary>The directory of the current test.</summary>
    protected string Dir { get; private set; } = "";

    private TensorScope? _scope;

    [SetUp]
    public void CreateTempDirectory()
    {
        Dir = Path.Combine(Path.GetTempPath(), GetType().Name + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        _scope = new TensorScope();
    }

    [TearDown]
    public void DeleteTempDirectory()
    {
        _scope?.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
