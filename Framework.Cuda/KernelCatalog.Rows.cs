namespace Framework.Cuda;

/// <summary>Instances of reduce.ptx: reduce_{sum,mean,var,max,min,part}_{dtype} (rows) and reduce_cols_{sum,mean}_{dtype}.</summary>
internal static class ReduceSpecs
{
    public static IEnumerable<KernelSpec> All()
    {
        foreach (var t in KernelCatalog.Dtypes)
        {
            string[] sums = t == "s64" ? ["sum", "mean"] : ["sum", "mean", "var"];
            foreach (var op in sums) yield return Sum(op, t);
            yield return Sum("part", t);
            foreach (var op in new[] { "sum", "mean" }) yield return Sum(op, t) with { Name = $"reduce_cols_{op}_{t}", Skeleton = "csum" };
            foreach (var op in new[] { "max", "min" }) yield return Arg(op, t);
        }
    }

    private static KernelSpec Sum(string op, string t)
    {
        var vars = KernelCatalog.TypeVars(t);
        bool isInt = t == "s64";
        vars["ACC"] = isInt ? "s64" : "f64";
        vars["ZACC"] = isInt ? "0" : "0d0000000000000000";
        vars["TOACC"] = t switch { "f32" => "cvt.f64.f32", "f64" => "mov.f64", _ => "mov.b64" };
        bool part = op == "part";
        vars["FROMACC"] = part ? "mov.b64" : t switch { "f32" => "cvt.rn.f32.f64", "f64" => "mov.f64", _ => "mov.b64" };
        vars["TOUT"] = part ? vars["ACC"] : t;
        vars["SHOUT"] = part ? "3" : KernelCatalog.Shift(t);
        return new KernelSpec($"reduce_{op}_{t}", "rsum", op, t, "", vars);
    }

    private static KernelSpec Arg(string op, string t)
    {
        var vars = KernelCatalog.TypeVars(t);
        bool max = op == "max";
        vars["GE"] = max ? "ge" : "le";
        vars["GT"] = max ? "gt" : "lt";
        vars["INIT"] = (t, max) switch
        {
            ("f32", true) => "0fFF800000",
            ("f32", false) => "0f7F800000",
            ("f64", true) => "0dFFF0000000000000",
            ("f64", false) => "0d7FF0000000000000",
            (_, true) => "0x8000000000000000",
            _ => "0x7FFFFFFFFFFFFFFF",
        };
        return new KernelSpec($"reduce_{op}_{t}", "rarg", op, t, t == "f32" ? "4" : "8", vars);
    }
}

/// <summary>Instances of softmax.ptx: (log)softmax_{dtype} and (log)softmax_bwd_{dtype}, float only.</summary>
internal static class SoftmaxSpecs
{
    public static IEnumerable<KernelSpec> All()
    {
        foreach (var t in KernelCatalog.FloatDtypes)
        {
            var vars = KernelCatalog.TypeVars(t);
            vars["ACC"] = "f64";
            vars["TOF64"] = t == "f32" ? "cvt.f64.f32" : "mov.f64";
            vars["FROMF64"] = t == "f32" ? "cvt.rn.f32.f64" : "mov.f64";
            yield return new KernelSpec($"softmax_{t}", "fwd", "softmax", t, "", vars);
            yield return new KernelSpec($"logsoftmax_{t}", "fwd", "logsoftmax", t, "", vars);
            yield return new KernelSpec($"softmax_bwd_{t}", "bwd", "softmax_bwd", t, "s", vars);
            yield return new KernelSpec($"logsoftmax_bwd_{t}", "bwd", "logsoftmax_bwd", t, "l", vars);
        }
    }
}
