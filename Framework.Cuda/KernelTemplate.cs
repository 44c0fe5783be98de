using System.Text;
using System.Text.RegularExpressions;

namespace Framework.Cuda;

/// <summary>One kernel to instantiate from a template file: its name, skeleton, body and variables.</summary>
/// <param name="Name">The <c>.entry</c> name, <c>"{op}_{dtype}"</c>.</param>
/// <param name="Skeleton">The <c>//@skeleton</c> section the kernel is built from.</param>
/// <param name="Body">The <c>//@body</c> section spliced in at <c>{BODY}</c>; a section named
/// <c>"body dtype"</c> (e.g. <c>exp f32</c>) wins over the plain name.</param>
/// <param name="DType">The dtype suffix used to pick a dtype-specific body (f32, f64, s64).</param>
/// <param name="Operands">Letters of the optional operands used (a, b, c); skeleton lines starting
/// with <c>#a </c> are kept only when 'a' is listed.</param>
/// <param name="Vars">Values of the <c>{VAR}</c> placeholders.</param>
internal sealed record KernelSpec(string Name, string Skeleton, string Body, string DType, string Operands,
    IReadOnlyDictionary<string, string> Vars);

/// <summary>
/// Assembles a module from a kernel template file. A template holds PTX text in sections that start
/// with a directive comment: <c>//@header</c> (the <c>.version/.target/.address_size</c> lines),
/// <c>//@skeleton name</c> (one handwritten kernel with <c>{BODY}</c> where the op goes),
/// <c>//@body name [dtype]</c> (the op's few instructions) and <c>//@fragment name</c> (shared
/// straight-line snippets such as the f64 exp, spliced at <c>{@name}</c>). Text before the first
/// directive is documentation. A file without directives is plain PTX and is loaded as it is.
/// </summary>
internal static partial class KernelTemplate
{
    [GeneratedRegex(@"\{[A-Z][A-Z0-9_]*\}|\{@[a-z0-9_]+\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\.entry\s+([A-Za-z_][A-Za-z0-9_$]*)")]
    private static partial Regex Entry();

    /// <summary>Whether the text is a template (has directive sections) rather than plain PTX.</summary>
    public static bool IsTemplate(string text) => text.Contains("//@header", StringComparison.Ordinal);

    /// <summary>The <c>.entry</c> names of a module's text.</summary>
    public static IEnumerable<string> EntryNames(string ptx) => Entry().Matches(ptx).Select(m => m.Groups[1].Value);

    /// <summary>Splits a template into its sections, keyed "kind name[ dtype]".</summary>
    public static Dictionary<string, string> Sections(string text, string file)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        string? key = null;
        var current = new StringBuilder();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("//@", StringComparison.Ordinal))
            {
                if (key is not null) sections[key] = current.ToString();
                key = string.Join(' ', line[3..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
                if (sections.ContainsKey(key)) throw new InvalidOperationException($"{file}: section '//@{key}' appears twice");
                current.Clear();
                continue;
            }
            if (key is not null) current.Append(line).Append('\n');
        }
        if (key is not null) sections[key] = current.ToString();
        return sections;
    }

    /// <summary>Builds the module text: the header, then every kernel of <paramref name="specs"/>.</summary>
    /// <param name="text">The template text.</param>
    /// <param name="file">Its file name, for messages.</param>
    /// <param name="specs">The kernels to build.</param>
    /// <param name="shared">Sections of the shared include files (<c>*.ptxinc</c>: fragments), visible to every template.</param>
    public static string Assemble(string text, string file, IEnumerable<KernelSpec> specs, IReadOnlyDictionary<string, string> shared)
    {
        var sections = Sections(text, file);
        foreach (var (k, v) in shared) sections.TryAdd(k, v);
        var sb = new StringBuilder();
        sb.Append("// assembled from ").Append(file).Append(" by Framework.Cuda.KernelTemplate\n");
        sb.Append(Get(sections, "header", file));
        foreach (var spec in specs) sb.Append('\n').Append(Instantiate(sections, file, spec));
        return sb.ToString();
    }

    private static string Get(Dictionary<string, string> sections, string key, string file) =>
        sections.TryGetValue(key, out var s) ? s : throw new InvalidOperationException($"{file}: no section '//@{key}'");

    private static string Instantiate(Dictionary<string, string> sections, string file, KernelSpec spec)
    {
        var body = sections.TryGetValue($"body {spec.Body} {spec.DType}", out var specific) ? specific : Get(sections, "body " + spec.Body, file);
        var sb = new StringBuilder();
        foreach (var line in Get(sections, "skeleton " + spec.Skeleton, file).Split('\n'))
        {
            var t = line.TrimStart();
            if (t.Length > 2 && t[0] == '#' && t[2] == ' ')
            {
                if (!spec.Operands.Contains(t[1])) continue;
                sb.Append(t[3..]).Append('\n');
            }
            else if (t == "{BODY}") sb.Append(body);
            else sb.Append(line).Append('\n');
        }
        string result = sb.ToString();
        // Fragments may use variables and other fragments (to a small depth); variables are replaced last.
        for (int depth = 0; depth < 4 && result.Contains("{@", StringComparison.Ordinal); depth++)
            result = Placeholder().Replace(result, m => m.Value[1] == '@' ? Get(sections, "fragment " + m.Value[2..^1], file) : m.Value);
        result = Placeholder().Replace(result, m =>
        {
            string name = m.Value[1..^1];
            if (name == "NAME") return spec.Name;
            return spec.Vars.TryGetValue(name, out var v) ? v
                : throw new InvalidOperationException($"{file}: kernel {spec.Name} uses {m.Value}, which has no value");
        });
        return result;
    }
}
