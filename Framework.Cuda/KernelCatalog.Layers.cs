namespace Framework.Cuda;

/// <summary>
/// Instances of the layer families: conv.ptx and pool.ptx (on the plane walk of planes.ptxinc),
/// index.ptx and optim.ptx. Float kernels are f32 and f64; gather/scatter-add also int64.
/// </summary>
internal static class LayerSpecs
{
    public static IEnumerable<KernelSpec> Conv()
    {
        foreach (var t in KernelCatalog.FloatDtypes)
        {
            var vars = KernelCatalog.TypeVars(t);
            yield return new KernelSpec($"im2col_{t}", "planes", "im2col", t, "", vars);
            yield return new KernelSpec($"col2im_{t}", "planes", "col2im", t, "", vars);
            yield return new KernelSpec($"bias_fill_{t}", "planes", "biasfill", t, "", vars);
            var sum = KernelCatalog.TypeVars(t);
            sum["ACC"] = "f64";
            sum["ZACC"] = "0d0000000000000000";
            sum["TOF64"] = t == "f32" ? "cvt.f64.f32" : "mov.f64";
            sum["FROMF64"] = t == "f32" ? "cvt.rn.f32.f64" : "mov.f64";
            yield return new KernelSpec($"channel_sum_{t}", "chansum", "chansum", t, "", sum);
        }
    }

    public static IEnumerable<KernelSpec> Pool()
    {
        foreach (var t in KernelCatalog.FloatDtypes)
        {
            var fwd = KernelCatalog.TypeVars(t);
            fwd["NEGINF"] = t == "f32" ? "0fFF800000" : "0dFFF0000000000000";
            fwd["INPLANE"] = "%g1, %g2";
            fwd["OUTPLANE"] = "%g3, %g4";
            yield return new KernelSpec($"maxpool_{t}", "planes", "maxpool", t, "", fwd);
            yield return new KernelSpec($"avgpool_{t}", "planes", "avgpool", t, "", fwd);
            var bwd = KernelCatalog.TypeVars(t);
            bwd["INPLANE"] = "%g3, %g4";
            bwd["OUTPLANE"] = "%g1, %g2";
            yield return new KernelSpec($"avgpool_bwd_{t}", "planes", "avgpool_bwd", t, "", bwd);
        }
    }

    public static IEnumerable<KernelSpec> Index()
    {
        foreach (var t in KernelCatalog.Dtypes)
        {
            var vars = KernelCatalog.TypeVars(t);
            // red.add has no .s64; two's-complement addition is the same operation as .u64
            vars["AT"] = t == "s64" ? "u64" : t;
            yield return new KernelSpec($"gather_{t}", "index", "gather", t, "", vars);
            yield return new KernelSpec($"scatter_add_{t}", "index", "scatter_add", t, "", vars);
        }
    }

    public static IEnumerable<KernelSpec> Optim()
    {
        foreach (var t in KernelCatalog.FloatDtypes)
        {
            var vars = KernelCatalog.TypeVars(t);
            yield return new KernelSpec($"sgd_{t}", "step", "sgd", t, "", vars);
            yield return new KernelSpec($"adam_{t}", "step", "adam", t, "", vars);
        }
    }
}
