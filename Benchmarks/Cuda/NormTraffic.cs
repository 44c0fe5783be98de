using System.Diagnostics;
using System.Runtime.InteropServices;
using Framework.Cuda;
using Framework.Cuda.Emulator;
using Framework.Cuda.Kernels;

namespace Benchmarks.Cuda;

/// <summary>
/// <c>dotnet run -c Release --project Benchmarks -- norm-traffic [--quick]</c>: runs every norm phase
/// (BatchNorm forward train / eval / backward, InstanceNorm forward / backward) through
/// kernels/norm.ptx, norm_bwd.ptx on the emulated GPU at the anchor shapes and prints, from the interpreter's
/// counters, global bytes per element (against the floor: forward 2 passes of 4 bytes, backward 3;
/// and PyTorch's kernels: forward 3, backward 5), kernel launches, and instructions per element of
/// each kernel. float32, affine, running statistics tracked (BatchNorm). <c>--quick</c> uses shapes
/// 1/8 the size in N (same planes), for a fast look.
/// </summary>
public static class NormTraffic
{
    private static readonly int[][] s_shapes = [[32, 64, 56, 56], [8, 32, 128, 128], [64, 256, 14, 14], [16, 3, 256, 256]];

    private sealed record Row(string Shape, string Phase, long Launches, double Read, double Written, double Floor, double Torch, string Kernels, double Seconds);

    /// <summary>Entry point of the verb; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        using var driver = new EmulatedCudaDriver();
        var perKernel = new List<(string Name, EmulatorCounters C)>();
        var raw = NormLauncher.DriverLaunch(driver);
        var launcher = new NormLauncher((name, grid, block, shared, a) =>
        {
            raw(name, grid, block, shared, a);
            perKernel.Add(($"{name[..name.LastIndexOf('_')]} ({grid.X}x{grid.Y}x{block.X})", driver.LastLaunch));
        }, driver.Allocate, driver.Free);
        var rows = new List<Row>();
        foreach (int[] shape in s_shapes)
        {
            int n = quick ? Math.Max(1, shape[0] / 8) : shape[0], c = shape[1];
            long s = (long)shape[2] * shape[3], len = n * c * s;
            string name = $"({n},{c},{shape[2]},{shape[3]})";
            Console.Error.WriteLine($"{name}: {len:N0} elements");
            ulong x = Upload(driver, Random(len, 1)), dy = Upload(driver, Random(len, 2)), y = Upload(driver, new float[len]);
            ulong dx = Upload(driver, new float[len]), gamma = Upload(driver, Ones(c)), beta = Upload(driver, new float[c]);
            ulong bnMean = Upload(driver, new float[c]), bnRstd = Upload(driver, new float[c]), rm = Upload(driver, new float[c]);
            ulong rv = Upload(driver, Ones(c)), dg = Upload(driver, new float[c]), db = Upload(driver, new float[c]);
            ulong inMean = Upload(driver, new float[n * c]), inRstd = Upload(driver, new float[n * c]);
            void Phase(string phase, double floor, double torch, Action run)
            {
                perKernel.Clear();
                driver.ResetCounters();
                var sw = Stopwatch.StartNew();
                run();
                var t = driver.Totals;
                string kernels = string.Join("; ", perKernel.Select(k =>
                    $"{k.Name}: {(double)k.C.Instructions / len:F1} instr, {(double)(k.C.GlobalBytesRead + k.C.GlobalBytesWritten) / len:F2} B"));
                rows.Add(new Row(name, phase, t.Launches, (double)t.GlobalBytesRead / len, (double)t.GlobalBytesWritten / len,
                    floor, torch, kernels, sw.Elapsed.TotalSeconds));
                Console.Error.WriteLine($"  {phase}: {sw.Elapsed.TotalSeconds:F1} s");
            }
            Phase("BatchNorm fwd (train)", 8, 12, () => launcher.BatchNormForward(false, x, y, n, c, s, gamma, beta, 1e-5, bnMean, bnRstd, rm, rv, 0.1));
            Phase("BatchNorm fwd (eval)", 8, 8, () => launcher.BatchNormForwardEval(false, x, y, n, c, s, rm, rv, 1e-5, gamma, beta));
            Phase("BatchNorm bwd", 12, 20, () => launcher.BatchNormBackward(false, x, dy, n, c, s, bnMean, bnRstd, gamma, dx, dg, db));
            Phase("InstanceNorm fwd", 8, 12, () => launcher.GroupNormForward(false, x, y, n, c, s, c, gamma, beta, 1e-5, inMean, inRstd, 0, 0, 0));
            Phase("InstanceNorm bwd", 12, 20, () => launcher.GroupNormBackward(false, x, dy, n, c, s, c, inMean, inRstd, gamma, dx, dg, db));
            foreach (ulong p in new[] { x, dy, y, dx, gamma, beta, bnMean, bnRstd, rm, rv, dg, db, inMean, inRstd }) driver.Free(p);
        }
        Print(rows);
        return 0;
    }

    private static void Print(List<Row> rows)
    {
        Console.WriteLine("| shape | phase | launches | read B/elem | written B/elem | total B/elem | passes (/4 B) | floor | PyTorch | per kernel (grid): instructions, bytes per element |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            double total = r.Read + r.Written;
            Console.WriteLine($"| {r.Shape} | {r.Phase} | {r.Launches} | {r.Read:F2} | {r.Written:F2} | {total:F2} | {total / 4:F2} | " +
                $"{r.Floor / 4:F0} | {r.Torch / 4:F0} | {r.Kernels} |");
        }
    }

    private static float[] Random(long n, int seed)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 4 - 1);
        return a;
    }

    private static float[] Ones(int n) { var a = new float[n]; Array.Fill(a, 1f); return a; }

    private static ulong Upload(EmulatedCudaDriver d, float[] a)
    {
        ulong p = d.Allocate((ulong)Math.Max(4, a.Length * 4));
        d.CopyHostToDevice(p, MemoryMarshal.AsBytes(a.AsSpan()));
        return p;
    }
}
