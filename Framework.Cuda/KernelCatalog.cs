using Framework.Backends;

namespace Framework.Cuda;

/// <summary>
/// The kernel instances of each template file: which op bodies are built for which dtypes, and the
/// values of the template variables. The PTX text itself lives in <c>kernels/*.ptx</c>.
/// </summary>
internal static class KernelCatalog
{
    public static readonly string[] Dtypes = ["f32", "f64", "s64"];
    public static readonly string[] FloatDtypes = ["f32", "f64"];

    /// <summary>Unary ops that int64 supports (as the CPU backend).</summary>
    public static readonly UnaryOp[] IntUnary =
        [UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Relu, UnaryOp.Clamp, UnaryOp.AddScalar, UnaryOp.MulScalar, UnaryOp.RSubScalar];

    /// <summary>Binary ops that int64 supports (arithmetic and comparisons).</summary>
    public static readonly BinaryOp[] IntBinary =
    [
        BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Maximum, BinaryOp.Minimum,
        BinaryOp.Eq, BinaryOp.Ne, BinaryOp.Lt, BinaryOp.Le, BinaryOp.Gt, BinaryOp.Ge,
    ];

    public static IEnumerable<KernelSpec> Specs(string file) => file switch
    {
        "elementwise.ptx" => Elementwise(),
        "reduce.ptx" => Reduce(),
        "softmax.ptx" => Softmax(),
        _ => throw new InvalidOperationException($"kernel template {file} has no entry in KernelCatalog"),
    };

    public static string OpName<TEnum>(TEnum op) where TEnum : struct, Enum => op.ToString().ToLowerInvariant();

    private static IEnumerable<KernelSpec> Elementwise()
    {
        foreach (var from in Dtypes)
            foreach (var to in Dtypes)
                yield return Ew($"copy_{from}_{to}", "copy", to, "a", to, ta: from, extra: ("CVT", Convert(from, to)));
        foreach (var t in Dtypes) yield return Ew($"fill_{t}", "fill", t, "", t);
        foreach (var op in Enum.GetValues<UnaryOp>())
            foreach (var t in FloatDtypes) yield return Ew($"{OpName(op)}_{t}", OpName(op), t, "a", t);
        foreach (var op in IntUnary) yield return Ew($"{OpName(op)}_s64", OpName(op), "s64", "a", "s64");
        foreach (var op in Enum.GetValues<BinaryOp>())
            foreach (var t in FloatDtypes) yield return Ew($"{OpName(op)}_{t}", OpName(op), t, "ab", t);
        foreach (var op in IntBinary) yield return Ew($"{OpName(op)}_s64", OpName(op), "s64", "ab", "s64");
        foreach (var cond in Dtypes)
            foreach (var t in Dtypes)
                yield return Ew($"where_{cond}_{t}", "where", t, "abc", t, ta: cond);
    }

    private static KernelSpec Ew(string name, string body, string t, string operands, string ty, string? ta = null, (string, string)? extra = null)
    {
        ta ??= t;
        var vars = TypeVars(t);
        vars["TY"] = ty; vars["TA"] = ta; vars["TB"] = t; vars["TC"] = t;
        vars["SY"] = Shift(ty); vars["SA"] = Shift(ta); vars["SB"] = Shift(t); vars["SC"] = Shift(t);
        vars["ONEY"] = One(ty); vars["ZEROY"] = Zero(ty);
        vars["ZEROA"] = Zero(ta); vars["NEA"] = ta == "s64" ? "ne" : "neu";
        vars["SCALARS"] = t switch
        {
            "f32" => "    cvt.rn.f32.f64 %sa, %d0;\n    cvt.rn.f32.f64 %sb, %d1;",
            "f64" => "    mov.f64 %sa, %d0;\n    mov.f64 %sb, %d1;",
            _ => "    cvt.rzi.s64.f64 %sa, %d0;\n    cvt.rzi.s64.f64 %sb, %d1;",
        };
        if (extra is var (k, v)) vars[k] = v;
        return new KernelSpec(name, "ew", body, t, operands, vars);
    }

    /// <summary>Variables every family uses for a compute type: {T}, literals, and the int/float spellings.</summary>
    public static Dictionary<string, string> TypeVars(string t) => new(StringComparer.Ordinal)
    {
        ["T"] = t,
        ["ONE"] = One(t),
        ["ZERO"] = Zero(t),
        ["RN"] = t == "s64" ? "" : ".rn",
        ["MUL"] = t == "s64" ? "mul.lo.s64" : $"mul.rn.{t}",
        ["NEU"] = t == "s64" ? "ne" : "neu",
        ["EQN"] = t == "s64" ? "eq" : "num",
        ["W"] = t == "f32" ? "b32" : "b64",
        ["S"] = t == "f32" ? "4" : "8",
        ["SH"] = Shift(t),
    };

    public static string Shift(string t) => t == "f32" ? "2" : "3";

    public static string One(string t) => t switch { "f32" => "0f3F800000", "f64" => "0d3FF0000000000000", _ => "1" };

    public static string Zero(string t) => t switch { "f32" => "0f00000000", "f64" => "0d0000000000000000", _ => "0" };

    /// <summary>The conversion of one element: float to int truncates toward zero, as PyTorch's .to(int64).</summary>
    private static string Convert(string from, string to) => (from, to) switch
    {
        _ when from == to => from == "f32" ? "mov.b32" : "mov.b64",
        ("f32", "f64") => "cvt.f64.f32",
        ("f64", "f32") => "cvt.rn.f32.f64",
        (_, "s64") => $"cvt.rzi.s64.{from}",
        _ => $"cvt.rn.{to}.s64",
    };

    private static IEnumerable<KernelSpec> Reduce() => ReduceSpecs.All();

    private static IEnumerable<KernelSpec> Softmax() => SoftmaxSpecs.All();
}
