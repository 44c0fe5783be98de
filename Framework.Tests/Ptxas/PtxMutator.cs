using System.Text;
using System.Text.RegularExpressions;

namespace Framework.Tests.Ptxas;

/// <summary>One mutant: a whole module (one kernel of a real module) with one mutation applied.</summary>
internal sealed record PtxMutant(string Id, string Operator, string Kernel, int Line, string Description, string Text);

/// <summary>
/// The mutation corpus of the front-end parity test: single mutations of the real assembled modules,
/// generated deterministically from a seed. Each seed kernel is cut out of its module as a standalone
/// module (the module-level text, i.e. header and module-scope declarations, plus that one .entry) so
/// that ptxas judges a small input; every operator then picks sites in that kernel with its own
/// seeded Random, so adding an operator does not move the others' mutants.
/// </summary>
internal static partial class PtxMutator
{
    public const int Seed = 20261204;

    /// <summary>Seed kernels: up to this many per module, chosen by the seed.</summary>
    public const int KernelsPerModule = 3;

    /// <summary>Sites per operator and kernel (fewer where the kernel has fewer).</summary>
    public const int SitesPerOperator = 1;

    /// <summary>The seed kernels as standalone modules: (module file, kernel name, text).</summary>
    public static List<(string File, string Kernel, string Text)> SeedKernels(IEnumerable<(string File, string Text)> modules)
    {
        var result = new List<(string, string, string)>();
        var rng = new Random(Seed);
        foreach (var (file, text) in modules.OrderBy(m => m.File, StringComparer.Ordinal))
        {
            var (moduleLevel, entries) = Split(text);
            var chosen = entries.OrderBy(_ => rng.Next()).Take(KernelsPerModule).OrderBy(e => e.Name, StringComparer.Ordinal);
            foreach (var (name, entry) in chosen) result.Add((file, name, moduleLevel.TrimEnd() + "\n\n" + entry + "\n"));
        }
        return result;
    }

    /// <summary>Splits a module into its module-level text and its .entry definitions (brace-matched).</summary>
    public static (string ModuleLevel, List<(string Name, string Text)> Entries) Split(string text)
    {
        var entries = new List<(string, string)>();
        var rest = new StringBuilder();
        int pos = 0;
        foreach (Match m in EntryStart().Matches(text))
        {
            if (m.Index < pos) continue;
            int open = text.IndexOf('{', m.Index);
            int depth = 0, end = open;
            for (; end < text.Length; end++)
            {
                if (text[end] == '{') depth++;
                else if (text[end] == '}' && --depth == 0) break;
            }
            rest.Append(text, pos, m.Index - pos);
            entries.Add((m.Groups[1].Value, text[m.Index..(end + 1)]));
            pos = end + 1;
        }
        rest.Append(text, pos, text.Length - pos);
        return (rest.ToString(), entries);
    }

    /// <summary>Every mutant of every seed kernel, in a fixed order; identical texts are kept once.</summary>
    public static List<PtxMutant> Corpus(IEnumerable<(string File, string Text)> modules)
    {
        var result = new List<PtxMutant>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (file, kernel, text) in SeedKernels(modules))
        {
            seen.Add(text);
            foreach (var op in Operators)
            {
                var rng = new Random(HashCode(Seed, kernel, op.Name));
                var lines = text.Split('\n');
                var sites = Enumerable.Range(0, lines.Length).Where(i => op.Applies(lines[i])).ToList();
                foreach (int i in sites.OrderBy(_ => rng.Next()).Take(SitesPerOperator))
                {
                    var copy = (string[])lines.Clone();
                    string? what = op.Apply(copy, i, rng);
                    if (what is null) continue;
                    string mutated = string.Join('\n', copy);
                    if (!seen.Add(mutated)) continue;
                    result.Add(new PtxMutant($"{kernel}.{op.Name}.{i + 1}", op.Name, kernel, i + 1, what, mutated));
                }
            }
        }
        return result;
    }

    /// <summary>A stable hash (string.GetHashCode is randomized per process).</summary>
    private static int HashCode(int seed, string a, string b)
    {
        uint h = 2166136261u ^ (uint)seed;
        foreach (char c in a + "/" + b) h = (h ^ c) * 16777619u;
        return (int)(h & 0x7fffffff);
    }

    [GeneratedRegex(@"(?:\.visible\s+|\.weak\s+)?\.entry\s+(\w+)\s*\(")]
    private static partial Regex EntryStart();
}
