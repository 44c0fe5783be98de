using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Framework.Cuda.Kernels;

/// <summary>
/// Assembles a handwritten PTX template (kernels/*.ptx) into the module text the driver loads. The
/// template shares one skeleton between dtypes and kernels instead of near-copies:
/// <list type="bullet">
/// <item><c>//#include FILE</c> splices the embedded <c>kernels/FILE</c> (shared macros: norm.ptxinc).</item>
/// <item><c>//#macro NAME</c> ... <c>//#endmacro</c> defines a snippet; <c>//#use NAME KEY=value ...</c>
/// inserts it with each whole-word KEY replaced (uses may nest) and <c>$U</c> made unique per use,
/// so labels inside a snippet do not collide.</item>
/// <item>Text before <c>//#kernels</c> is the module header, emitted once; the text after it is
/// emitted once per dtype with <c>$T</c> (f32/f64), <c>$W</c> (element bytes), <c>$L</c> (log2 of
/// it), <c>$TOF64</c> (widening move to f64) and <c>$FROMF64</c> (narrowing move from f64).</item>
/// </list>
/// </summary>
internal static partial class PtxTemplate
{
    private static readonly (string T, string W, string L, string ToF64, string FromF64)[] DTypes =
    [
        ("f32", "4", "2", "cvt.f64.f32", "cvt.rn.f32.f64"),
        ("f64", "8", "3", "mov.f64", "mov.f64"),
    ];

    /// <summary>Whether the text is a template of this kind (it has a <c>//#kernels</c> line).</summary>
    public static bool IsTemplate(string text) => text.Contains("\n//#kernels", StringComparison.Ordinal);

    /// <summary>Reads an embedded template (logical name <c>kernels/NAME</c>) and assembles it.</summary>
    public static string Load(string fileName)
    {
        var asm = typeof(PtxTemplate).Assembly;
        using Stream s = asm.GetManifestResourceStream("kernels/" + fileName)
            ?? throw new InvalidOperationException($"embedded PTX 'kernels/{fileName}' not found in {asm.GetName().Name}");
        using var reader = new StreamReader(s);
        return Assemble(reader.ReadToEnd());
    }

    private static string Resource(string fileName)
    {
        var asm = typeof(PtxTemplate).Assembly;
        using Stream s = asm.GetManifestResourceStream("kernels/" + fileName)
            ?? throw new InvalidOperationException($"PTX template includes 'kernels/{fileName}', which is not embedded in {asm.GetName().Name}");
        using var reader = new StreamReader(s);
        return reader.ReadToEnd();
    }

    /// <summary>Expands macros and emits the kernel section once per dtype.</summary>
    public static string Assemble(string template)
    {
        var macros = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var header = new List<string>();
        var kernels = new List<string>();
        List<string>? body = null;
        bool inKernels = false;
        var source = new List<string>();
        foreach (string raw in template.Replace("\r\n", "\n").Split('\n'))
        {
            string t = raw.TrimStart();
            if (t.StartsWith("//#include ", StringComparison.Ordinal)) source.AddRange(Resource(t[11..].Trim()).Replace("\r\n", "\n").Split('\n'));
            else source.Add(raw);
        }
        foreach (string raw in source)
        {
            string line = raw.TrimEnd();
            string trimmed = line.TrimStart();
            if (trimmed.StartsWith("//#macro ", StringComparison.Ordinal)) { body = []; macros[trimmed[9..].Trim()] = body; continue; }
            if (trimmed == "//#endmacro") { body = null; continue; }
            if (body != null) { body.Add(line); continue; }
            if (trimmed == "//#kernels") { inKernels = true; continue; }
            (inKernels ? kernels : header).Add(line);
        }
        int unique = 0;
        var sb = new StringBuilder();
        foreach (string l in Expand(header, macros, ref unique)) sb.Append(l).Append('\n');
        var expanded = Expand(kernels, macros, ref unique);
        foreach (var d in DTypes)
        {
            foreach (string l in expanded)
            {
                string t = l.Replace("$TOF64", d.ToF64).Replace("$FROMF64", d.FromF64);
                t = DollarT().Replace(t, d.T);
                t = DollarW().Replace(t, d.W);
                t = DollarL().Replace(t, d.L);
                sb.Append(t).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static List<string> Expand(List<string> lines, Dictionary<string, List<string>> macros, ref int unique)
    {
        var output = new List<string>();
        foreach (string line in lines)
        {
            string trimmed = line.TrimStart();
            if (!trimmed.StartsWith("//#use ", StringComparison.Ordinal)) { output.Add(line); continue; }
            string[] parts = trimmed[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!macros.TryGetValue(parts[0], out var body))
                throw new InvalidOperationException($"PTX template uses undefined macro '{parts[0]}'");
            string id = (unique++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var instance = new List<string>(body.Count);
            foreach (string b in body)
            {
                string t = DollarU().Replace(b, id);
                foreach (string arg in parts.Skip(1))
                {
                    int eq = arg.IndexOf('=');
                    t = Regex.Replace(t, $@"\b{Regex.Escape(arg[..eq])}\b", arg[(eq + 1)..].Replace("$", "$$"));
                }
                instance.Add(t);
            }
            output.AddRange(Expand(instance, macros, ref unique));
        }
        return output;
    }

    [GeneratedRegex(@"\$T\b")] private static partial Regex DollarT();
    [GeneratedRegex(@"\$W\b")] private static partial Regex DollarW();
    [GeneratedRegex(@"\$L\b")] private static partial Regex DollarL();
    [GeneratedRegex(@"\$U\b")] private static partial Regex DollarU();
}
