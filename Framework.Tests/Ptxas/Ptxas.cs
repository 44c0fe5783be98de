using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Framework.Tests.Ptxas;

/// <summary>
/// NVIDIA's PTX assembler as a judge (tools/install-ptxas.sh puts ptxas 11.8 in .tools/ptxas/bin).
/// Found through $PTXAS (the binary), then .tools/ptxas/bin/ptxas in the repository, then PATH. Tests
/// that need it are ignored with the reason when it is absent, except under CI=true, where CI has
/// installed it and an absent ptxas means the install broke: there it is a failure.
/// </summary>
internal static partial class PtxasTool
{
    private static readonly Lazy<string?> Found = new(Locate);

    public static string? Path => Found.Value;

    /// <summary>The ptxas binary, or Assert.Ignore (Assert.Fail under CI=true) naming where it was looked for.</summary>
    public static string Require()
    {
        if (Found.Value is { } path) return path;
        string why = "ptxas was not found ($PTXAS, .tools/ptxas/bin/ptxas, PATH); run tools/install-ptxas.sh to install NVIDIA's ptxas 11.8";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail(why + " (CI=true: CI must install it before the tests)");
        Assert.Ignore(why);
        return "";
    }

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable("PTXAS") is { Length: > 0 } env)
            return File.Exists(env) ? env : throw new FileNotFoundException($"PTXAS is set to '{env}', which does not exist");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, ".tools", "ptxas", "bin", "ptxas");
            if (File.Exists(candidate)) return candidate;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(dir, OperatingSystem.IsWindows() ? "ptxas.exe" : "ptxas");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Runs <c>ptxas -arch=ARCH [-v] file -o /dev/null</c>; returns the exit code and everything it printed.</summary>
    public static (int ExitCode, string Output) Assemble(string ptxas, string file, string arch, bool verbose)
    {
        var psi = new ProcessStartInfo(ptxas)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-arch=" + arch);
        if (verbose) psi.ArgumentList.Add("-v");
        psi.ArgumentList.Add(file);
        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(OperatingSystem.IsWindows() ? "NUL" : "/dev/null");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {ptxas}");
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }

    /// <summary>Lines of ptxas output that are errors or warnings (everything but "ptxas info" and its continuation lines).</summary>
    public static IEnumerable<string> Complaints(string output) =>
        output.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0 && !l.StartsWith("ptxas info", StringComparison.Ordinal) && !StatsLine().IsMatch(l));

    [GeneratedRegex(@"^\s+\d+ bytes stack frame")]
    private static partial Regex StatsLine();
}
