using System.Numerics;
using Framework.Backends.Cpu;

namespace Framework.Tests.CudaKernels;

/// <summary>Which operation a <see cref="NormKernelCase"/> runs.</summary>
public enum NormOp
{
    /// <summary>BatchNorm training forward.</summary>
    BatchFwd,
    /// <summary>BatchNorm eval forward (running statistics).</summary>
    BatchEval,
    /// <summary>BatchNorm training backward.</summary>
    BatchBwd,
    /// <summary>BatchNorm eval backward.</summary>
    BatchBwdEval,
    /// <summary>GroupNorm / InstanceNorm forward.</summary>
    GroupFwd,
    /// <summary>GroupNorm / InstanceNorm backward.</summary>
    GroupBwd,
    /// <summary>LayerNorm forward (rows = N*C, D = S).</summary>
    LayerFwd,
    /// <summary>LayerNorm backward.</summary>
    LayerBwd,
}

/// <summary>
/// One norm operation on [N, C, S] data run by the CPU NormKernels and by kernels/norm.ptx, norm_bwd.ptx through
/// <see cref="NormKernelRig"/>; returns (name, gpu, cpu) for every output.
/// </summary>
internal static unsafe class NormKernelCase
{
    public sealed record Options(bool Affine = true, bool Running = true, int Groups = 0, bool Dx = true, bool DGamma = true,
        bool DBeta = true, double Shift = 3, double Scale = 2, Action<double[]>? Poison = null);

    private static T[]? Cast<T>(double[]? a) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        a is null ? null : Array.ConvertAll(a, T.CreateTruncating);

    private static double[] Wide<T>(T[] a) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Array.ConvertAll(a, double.CreateTruncating);

    private static double[] Rnd(int len, int seed, double scale = 1, double shift = 0) =>
        NormKernelRig.Widen(NormKernelRig.Random(len, seed, scale, shift));

    public static List<(string Name, double[] Gpu, double[] Cpu)> Run<T>(NormKernelRig rig, NormOp op, int n, int c, int s, Options o)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool f64 = typeof(T) == typeof(double);
        int len = n * c * s, groups = o.Groups == 0 ? c : o.Groups;
        bool layer = op is NormOp.LayerFwd or NormOp.LayerBwd, batch = op < NormOp.GroupFwd;
        int pc = layer ? s : c;                       // affine length
        int stats = batch ? c : layer ? n * c : n * groups;
        double[] xd = Rnd(len, 11, o.Scale, o.Shift);
        o.Poison?.Invoke(xd);
        T[] x = Cast<T>(xd)!, dy = Cast<T>(Rnd(len, 12))!;
        T[]? gamma = o.Affine ? Cast<T>(Rnd(pc, 13, 0.5, 1)) : null, beta = o.Affine ? Cast<T>(Rnd(pc, 14)) : null;
        bool running = o.Running && (batch || groups == c) && !layer;
        T[]? rm = running || op is NormOp.BatchEval or NormOp.BatchBwdEval ? Cast<T>(Rnd(c, 15)) : null;
        T[]? rv = rm is null ? null : Cast<T>(Array.ConvertAll(Rnd(c, 16), v => 0.5 + Math.Abs(v)));
        // Backward needs the forward's mean/rstd: take them from the CPU forward (the same on both sides).
        T[] mean = new T[stats], rstd = new T[stats], y = new T[len];
        fixed (T* px = x, py = y, pg = gamma, pb = beta, pm = mean, pr = rstd)
        {
            if (op == NormOp.BatchBwd) NormKernels.BatchNormForward(px, py, n, c, s, pg, pb, 1e-5, pm, pr);
            if (op == NormOp.GroupBwd) NormKernels.GroupNormForward(px, py, n, c, s, groups, pg, pb, 1e-5, pm, pr);
            if (op == NormOp.LayerBwd) NormKernels.LayerNormForward(px, py, (long)n * c, s, pg, pb, 1e-5, pm, pr);
        }
        var dev = new Dictionary<string, (ulong P, int Len)>();
        ulong D(string name, T[]? a, int count)
        {
            ulong p = rig.Up(a);
            if (a is not null) dev[name] = (p, count);
            return p;
        }
        // Device buffers start with copies of the host ones (outputs included: NaN-free zeros).
        var cpu = new Dictionary<string, T[]?>
        {
            ["y"] = new T[len], ["mean"] = op is NormOp.BatchFwd or NormOp.GroupFwd or NormOp.LayerFwd ? new T[stats] : null,
            ["rstd"] = op is NormOp.BatchFwd or NormOp.GroupFwd or NormOp.LayerFwd ? new T[stats] : null,
            ["running_mean"] = rm is null ? null : (T[])rm.Clone(), ["running_var"] = rv is null ? null : (T[])rv.Clone(),
            ["dx"] = o.Dx ? new T[len] : null, ["dgamma"] = o.DGamma ? new T[pc] : null, ["dbeta"] = o.DBeta ? new T[pc] : null,
        };
        bool fwd = op is NormOp.BatchFwd or NormOp.BatchEval or NormOp.GroupFwd or NormOp.LayerFwd;
        ulong gx = rig.Up(x), gdy = rig.Up(dy), gg = rig.Up(gamma), gb = rig.Up(beta), gm = rig.Up(mean), gr = rig.Up(rstd);
        ulong gy = fwd ? D("y", cpu["y"], len) : 0, gom = D("mean", cpu["mean"], stats), gor = D("rstd", cpu["rstd"], stats);
        ulong grm = D("running_mean", cpu["running_mean"], c), grv = D("running_var", cpu["running_var"], c);
        ulong gdx = fwd ? 0 : D("dx", cpu["dx"], len), gdg = fwd ? 0 : D("dgamma", cpu["dgamma"], pc), gdb = fwd ? 0 : D("dbeta", cpu["dbeta"], pc);
        var L = rig.Launcher;
        long rows = (long)n * c;
        fixed (T* px = x, pdy = dy, pg = gamma, pb = beta, pm = mean, pr = rstd, py = cpu["y"], pom = cpu["mean"], por = cpu["rstd"],
               prm = cpu["running_mean"], prv = cpu["running_var"], pdx = cpu["dx"], pdg = cpu["dgamma"], pdb = cpu["dbeta"])
        {
            switch (op)
            {
                case NormOp.BatchFwd:
                    NormKernels.BatchNormForward(px, py, n, c, s, pg, pb, 1e-5, pom, por, prm, prv, 0.1);
                    L.BatchNormForward(f64, gx, gy, n, c, s, gg, gb, 1e-5, gom, gor, grm, grv, 0.1);
                    break;
                case NormOp.BatchEval:
                    NormKernels.BatchNormEval(px, py, n, c, s, prm, prv, 1e-5, pg, pb);
                    L.BatchNormForwardEval(f64, gx, gy, n, c, s, grm, grv, 1e-5, gg, gb);
                    break;
                case NormOp.BatchBwd:
                    NormKernels.BatchNormBackward(px, pdy, n, c, s, pm, pr, pg, pdx, pdg, pdb);
                    L.BatchNormBackward(f64, gx, gdy, n, c, s, gm, gr, gg, gdx, gdg, gdb);
                    break;
                case NormOp.BatchBwdEval:
                    NormKernels.BatchNormBackwardEval(px, pdy, n, c, s, prm, prv, 1e-5, pg, pdx, pdg, pdb);
                    L.BatchNormBackwardEval(f64, gx, gdy, n, c, s, grm, grv, 1e-5, gg, gdx, gdg, gdb);
                    break;
                case NormOp.GroupFwd:
                    NormKernels.GroupNormForward(px, py, n, c, s, groups, pg, pb, 1e-5, pom, por, prm, prv, 0.1);
                    L.GroupNormForward(f64, gx, gy, n, c, s, groups, gg, gb, 1e-5, gom, gor, grm, grv, 0.1);
                    break;
                case NormOp.GroupBwd:
                    NormKernels.GroupNormBackward(px, pdy, n, c, s, groups, pm, pr, pg, pdx, pdg, pdb);
                    L.GroupNormBackward(f64, gx, gdy, n, c, s, groups, gm, gr, gg, gdx, gdg, gdb);
                    break;
                case NormOp.LayerFwd:
                    NormKernels.LayerNormForward(px, py, rows, s, pg, pb, 1e-5, pom, por);
                    L.LayerNormForward(f64, gx, gy, rows, s, gg, gb, 1e-5, gom, gor);
                    break;
                case NormOp.LayerBwd:
                    NormKernels.LayerNormBackward(px, pdy, rows, s, pm, pr, pg, pdx, pdg, pdb);
                    L.LayerNormBackward(f64, gx, gdy, rows, s, gm, gr, gg, gdx, gdg, gdb);
                    break;
            }
        }
        var result = new List<(string, double[], double[])>();
        foreach (var (name, (p, count)) in dev)
            result.Add((name, Wide(rig.Down<T>(p, count)), Wide(cpu[name]!)));
        return result;
    }
}
