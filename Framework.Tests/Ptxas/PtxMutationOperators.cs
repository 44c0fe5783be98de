using System.Text.RegularExpressions;

namespace Framework.Tests.Ptxas;

/// <summary>A mutation: where it applies (a line predicate) and what it does there (edits the lines, returns a description, or null to skip).</summary>
internal sealed record MutationOperator(string Name, Func<string, bool> Applies, Func<string[], int, Random, string?> Apply);

/// <summary>
/// The operators of the mutation corpus: the mistakes a hand-writer of PTX makes (dropped or renamed
/// declarations, wrong types and widths, wrong state spaces, missing .sync/.aligned, bad alignments,
/// illegal operands, missing modifiers, bad literals, labels and headers).
/// </summary>
internal static partial class PtxMutator
{
    private static readonly string[] Types = [".f32", ".f64", ".u32", ".u64", ".s32", ".s64", ".b32", ".b64", ".u16", ".s16", ".b16", ".u8", ".s8", ".b8", ".pred", ".f16"];
    private static readonly string[] Spaces = [".global", ".shared", ".local", ".param", ".const"];
    private static readonly string[] SpecialNames = ["%tid", "%ntid", "%ctaid", "%nctaid", "%laneid", "%warpid", "%clock", "%smid", "%lanemask_lt", "%gridid"];

    /// <summary>The statement part of a line: comment dropped, trimmed.</summary>
    private static string Code(string line)
    {
        int c = line.IndexOf("//", StringComparison.Ordinal);
        return (c >= 0 ? line[..c] : line).Trim();
    }

    private static bool IsInstruction(string line)
    {
        string c = Code(line);
        return c.EndsWith(';') && !c.StartsWith('.') && !c.StartsWith('{') && !c.StartsWith('}') && !c.Contains(':');
    }

    /// <summary>The opcode token of an instruction line (after an optional guard).</summary>
    private static string Opcode(string line)
    {
        var parts = Code(line).Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 0 ? "" : parts[0].StartsWith('@') && parts.Length > 1 ? parts[1] : parts[0];
    }

    private static bool OpIs(string line, params string[] names) => IsInstruction(line) && names.Contains(Opcode(line).Split('.')[0]);

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    /// <summary>Replaces one (random) match of <paramref name="pattern"/> in the line; null when none.</summary>
    private static string? ReplaceOne(string[] lines, int i, Random rng, Regex pattern, Func<Match, string> by, string what)
    {
        var ms = pattern.Matches(Code(lines[i]));
        if (ms.Count == 0) return null;
        var m = ms[rng.Next(ms.Count)];
        string code = Code(lines[i]);
        string replacement = by(m);
        lines[i] = "    " + code[..m.Index] + replacement + code[(m.Index + m.Length)..];
        return $"{what}: '{m.Value}' -> '{replacement}' in '{code}'";
    }

    /// <summary>The first declared register of a type class (".pred", or a 32-bit integer type), expanded from %r&lt;N&gt;.</summary>
    private static string? DeclaredRegister(string[] lines, Func<string, bool> typeOk)
    {
        foreach (var l in lines)
        {
            var m = RegDecl().Match(Code(l));
            if (!m.Success || !typeOk(m.Groups[1].Value)) continue;
            var first = m.Groups[2].Value.Split(',')[0].Trim();
            int lt = first.IndexOf('<');
            return lt >= 0 ? first[..lt] + "0" : first;
        }
        return null;
    }

    private static int BodyOpen(string[] lines) => Array.FindIndex(lines, l => Code(l) == "{");

    private static readonly MutationOperator[] Operators =
    [
        new("drop-reg-decl", l => Code(l).StartsWith(".reg ", StringComparison.Ordinal),
            (ls, i, _) => { string d = Code(ls[i]); ls[i] = ""; return $"dropped '{d}'"; }),
        new("duplicate-reg-decl", l => Code(l).StartsWith(".reg ", StringComparison.Ordinal),
            (ls, i, _) => { ls[i] = ls[i] + "\n" + ls[i]; return $"declared twice: '{Code(ls[i].Split('\n')[0])}'"; }),
        new("undeclared-register", l => IsInstruction(l) && RegisterOperand().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, RegisterOperand(), _ => "%undeclared", "renamed to an undeclared register")),
        new("shadow-special-read", l => IsInstruction(l) && SpecialRead().IsMatch(Code(l)),
            (ls, i, _) =>
            {
                string name = SpecialRead().Match(Code(ls[i])).Groups[1].Value;
                int open = BodyOpen(ls);
                if (open < 0) return null;
                ls[open] += $"\n    .reg .u32 {name};";
                return $"declared a register named {name}, which the kernel also reads as a special register";
            }),
        new("declare-special-name", l => Code(l).StartsWith(".reg ", StringComparison.Ordinal),
            (ls, i, r) => { string name = Pick(r, SpecialNames); ls[i] += $"\n    .reg .b32 {name};"; return $"declared a register named {name}"; }),
        new("instruction-type", l => IsInstruction(l) && TypeSuffix().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, TypeSuffix(), m => Pick(r, Types.Where(t => t != m.Value).ToArray()), "instruction type changed")),
        new("register-type", l => RegDecl().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, RegDeclType(), m => Pick(r, Types.Where(t => t != m.Value).ToArray()), "register type changed")),
        new("state-space", l => OpIs(l, "ld", "st", "atom", "red", "cvta") && StateSpace().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, StateSpace(), m => Pick(r, Spaces.Where(s => s != m.Value).ToArray()), "state space changed")),
        new("drop-sync", l => IsInstruction(l) && SyncPart().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, SyncPart(), _ => "", "dropped")),
        new("alignment", l => AlignValue().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, AlignValue(), _ => ".align " + Pick(r, ["0", "1", "3", "6", "12", "32"]), "alignment changed")),
        new("drop-rounding", l => IsInstruction(l) && Rounding().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, Rounding(), _ => "", "dropped the rounding/approximation modifier")),
        new("drop-mul-mode", l => OpIs(l, "mul", "mad") && MulMode().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, MulMode(), _ => "", "dropped .lo/.hi/.wide")),
        new("unknown-opcode", IsInstruction,
            (ls, i, r) => ReplaceOne(ls, i, r, OpcodeWord(), m => m.Groups[1].Value + "x", "misspelled opcode")),
        new("undefined-label", l => OpIs(l, "bra"),
            (ls, i, r) => ReplaceOne(ls, i, r, BranchTarget(), _ => " $nowhere;", "branch to an undefined label")),
        new("duplicate-label", l => LabelLine().IsMatch(Code(l)),
            (ls, i, _) => { ls[i] = ls[i] + "\n" + ls[i]; return $"label defined twice: '{Code(ls[i].Split('\n')[0])}'"; }),
        new("unknown-parameter", l => OpIs(l, "ld") && Opcode(l).Contains(".param", StringComparison.Ordinal),
            (ls, i, r) => ReplaceOne(ls, i, r, BracketName(), m => "[" + m.Groups[1].Value + "_nope", "unknown parameter")),
        new("drop-operand", l => IsInstruction(l) && Code(l).Contains(',', StringComparison.Ordinal),
            (ls, i, r) => ReplaceOne(ls, i, r, LastOperand(), _ => ";", "dropped the last operand")),
        new("extra-operand", l => IsInstruction(l) && FirstOperand().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, LastOperand(), m => m.Value.TrimEnd(';') + ", " + FirstOperand().Match(Code(ls[i])).Groups[1].Value + ";", "added an operand")),
        new("immediate-destination", l => IsInstruction(l) && !OpIs(l, "st", "red", "bra", "bar", "barrier", "ret", "exit", "membar", "fence") && FirstOperand().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, FirstOperand(), m => m.Value.Replace(m.Groups[1].Value, "1"), "immediate as the destination")),
        new("bad-literal", l => IsInstruction(l) && Literal().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, Literal(), m => m.Value.StartsWith("0f", StringComparison.Ordinal) ? m.Value[..^2]
                : m.Value.StartsWith("0d", StringComparison.Ordinal) ? "0f" + m.Value[2..]
                : m.Value.StartsWith("0x", StringComparison.Ordinal) ? "0xG" + m.Value[2..] : m.Value + ".5", "malformed literal")),
        new("guard-not-predicate", l => IsInstruction(l) && Code(l).StartsWith('@'),
            (ls, i, r) => DeclaredRegister(ls, t => t is ".u32" or ".b32" or ".s32") is { } reg
                ? ReplaceOne(ls, i, r, Guard(), m => m.Groups[1].Value + reg, "guard is not a predicate") : null),
        new("predicate-as-value", l => IsInstruction(l) && !OpIs(l, "setp", "selp", "bra") && RegisterOperand().IsMatch(Code(l)),
            (ls, i, r) => DeclaredRegister(ls, t => t == ".pred") is { } p
                ? ReplaceOne(ls, i, r, RegisterOperand(), _ => p, "predicate register as a value operand") : null),
        new("setp-comparison", l => OpIs(l, "setp"),
            (ls, i, r) => ReplaceOne(ls, i, r, SetpCompare(), m =>
                "setp." + (m.Groups[2].Value.StartsWith('f') ? Pick(r, ["lo", "hs", "ls", "hi"]) : Pick(r, ["ltu", "equ", "num", "nan"])) + "." + m.Groups[2].Value,
                "comparison not defined for the type")),
        new("vector-width", l => IsInstruction(l) && VectorPart().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, VectorPart(), m => Pick(r, [".v3", ".v8", ".v1"]), "vector width changed")),
        new("header", l => HeaderLine().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, HeaderLine(), m => m.Groups[1].Value switch
            {
                ".version" => ".version " + Pick(r, ["6.0", "5.0", "9.9", "8.0", "7"]),
                ".target" => ".target " + Pick(r, ["sm_70", "sm_999", "sm75", "compute_75"]),
                _ => ".address_size " + Pick(r, ["32", "48"]),
            }, "header changed")),
        new("drop-semicolon", IsInstruction,
            (ls, i, _) => { string c = Code(ls[i]); ls[i] = "    " + c[..^1]; return $"dropped the ';' of '{c}'"; }),
        new("store-operand-order", l => OpIs(l, "st") && StoreOperands().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, StoreOperands(), m => $" {m.Groups[2].Value}, {m.Groups[1].Value};", "store operands swapped")),
        new("param-store", l => OpIs(l, "ld") && Opcode(l).Contains(".param", StringComparison.Ordinal) && LoadOperands().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, LoadOperands(), m => $"st{m.Groups[1].Value} {m.Groups[3].Value}, {m.Groups[2].Value};", "writes a kernel parameter")),
        new("undeclared-variable", l => IsInstruction(l) && VariableOperand().IsMatch(Code(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, VariableOperand(), m => m.Value.Replace(m.Groups[1].Value, m.Groups[1].Value + "_nope"), "undeclared variable")),
        new("cvt-types-swapped", l => OpIs(l, "cvt") && CvtTypes().IsMatch(Opcode(l)),
            (ls, i, r) => ReplaceOne(ls, i, r, CvtTypes(), m => m.Groups[2].Value + m.Groups[1].Value, "cvt types swapped")),
    ];

    [GeneratedRegex(@"^\.reg\s+(\.\w+)\s+(.+);$")] private static partial Regex RegDecl();
    [GeneratedRegex(@"(?<=^\.reg\s+)\.\w+")] private static partial Regex RegDeclType();
    [GeneratedRegex(@"%[A-Za-z_$][\w$]*(?![\w$.])")] private static partial Regex RegisterOperand();
    [GeneratedRegex(@"(%(?:tid|ntid|ctaid|nctaid))\.[xyz]|(%laneid|%warpid)")] private static partial Regex SpecialRead();
    [GeneratedRegex(@"\.(?:[fsub](?:8|16|32|64)|pred)(?![\w])")] private static partial Regex TypeSuffix();
    [GeneratedRegex(@"\.(?:global|shared|local|param|const)(?![\w])")] private static partial Regex StateSpace();
    [GeneratedRegex(@"\.sync|\.aligned")] private static partial Regex SyncPart();
    [GeneratedRegex(@"\.align\s+\d+")] private static partial Regex AlignValue();
    [GeneratedRegex(@"\.(?:rn|rz|rm|rp|rni|rzi|rmi|rpi|approx|full)(?![\w])")] private static partial Regex Rounding();
    [GeneratedRegex(@"\.(?:lo|hi|wide)(?![\w])")] private static partial Regex MulMode();
    [GeneratedRegex(@"(?<=^(?:@!?%\w+\s+)?)([a-z]+)(?=[.\s;])")] private static partial Regex OpcodeWord();
    [GeneratedRegex(@"\s+[$\w]+;$")] private static partial Regex BranchTarget();
    [GeneratedRegex(@"^[$\w]+:$")] private static partial Regex LabelLine();
    [GeneratedRegex(@"\[(\w+)")] private static partial Regex BracketName();
    [GeneratedRegex(@",\s*[^,]+;$")] private static partial Regex LastOperand();
    [GeneratedRegex(@"(?<=^(?:@!?%\w+\s+)?[\w.]+\s+)(%\w+)")] private static partial Regex FirstOperand();
    [GeneratedRegex(@"0f[0-9A-Fa-f]{8}|0d[0-9A-Fa-f]{16}|0x[0-9A-Fa-f]+|(?<![\w%.$])\d+(?![\w.])")] private static partial Regex Literal();
    [GeneratedRegex(@"^(@!?)%\w+")] private static partial Regex Guard();
    [GeneratedRegex(@"^setp\.(\w+)\.(\w+)")] private static partial Regex SetpCompare();
    [GeneratedRegex(@"\.v[24](?![\w])")] private static partial Regex VectorPart();
    [GeneratedRegex(@"^(\.version|\.target|\.address_size)\s+\S+")] private static partial Regex HeaderLine();
    [GeneratedRegex(@"\s+(\[[^\]]+\]),\s*([^;]+);$")] private static partial Regex StoreOperands();
    [GeneratedRegex(@"^ld(\.[\w.]+)\s+([^,]+),\s*(\[[^\]]+\]);$")] private static partial Regex LoadOperands();
    [GeneratedRegex(@"(?<=[\[,]\s*)([A-Za-z_]\w*)(?=\s*(?:\+\s*\d+)?\]|;)")] private static partial Regex VariableOperand();
    [GeneratedRegex(@"(\.[fsub]\d+)(\.[fsub]\d+)$")] private static partial Regex CvtTypes();
}
