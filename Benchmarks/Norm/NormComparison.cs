using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Framework;
using Framework.Nn;

namespace Benchmarks.Norm;

/// <summary>
/// <c>dotnet run -c Release --project Benchmarks -- compare-norms</c>: times our BatchNorm2d and
/// InstanceNorm2d on the anchor shapes the way ../shared/anchors/torch_norm_cpu.py times PyTorch
/// (median of repeated calls, 2 threads), runs that script in the same process run, measures the
/// triad bandwidth, and prints both sides with the ratio and the bandwidth floor
/// (32 bytes per element for forward+backward).
/// </summary>
public static class NormComparison
{
    private static readonly int[][] s_shapes = [[32, 64, 56, 56], [8, 32, 128, 128], [64, 256, 14, 14], [16, 3, 256, 256]];

    private static double Median(Action f, int reps)
    {
        // Warm up for at least a second and 30 calls: tiered JIT promotes hot methods in the background
        // after a delay, and a short warm-up would time the unoptimised code.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 30 || warm.Elapsed.TotalSeconds < 1.0; i++) f();
        var ts = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            f();
            ts[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(ts);
        return ts[reps / 2];
    }

    /// <summary>Triad a = b + s*c over 64M floats (768 MiB moved): the bandwidth the floor uses, in bytes/s.</summary>
    public static double TriadBandwidth()
    {
        const int n = 1 << 26;
        var a = new float[n];
        var b = new float[n];
        var c = new float[n];
        new Random(1).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()));
        int chunks = Environment.ProcessorCount;
        void Triad() => Parallel.For(0, chunks, k =>
        {
            int start = (int)((long)n * k / chunks), end = (int)((long)n * (k + 1) / chunks);
            TensorPrimitives.MultiplyAdd(c.AsSpan(start, end - start), 3f, b.AsSpan(start, end - start), a.AsSpan(start, end - start));
        });
        return 12.0 * n / Median(Triad, 9);
    }

    public static int Run(string[] args)
    {
        string python = args.Length > 1 ? args[1] : "/usr/bin/python3";
        string anchor = Path.GetFullPath(Path.Combine(FindRepoRoot(), "..", "shared", "anchors", "torch_norm_cpu.py"));
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}");
        double bw = TriadBandwidth();
        Console.WriteLine($"triad bandwidth: {bw / 1e9:F1} GB/s (floor for fwd+bwd = 32 B/element at this bandwidth)");

        var ours = new Dictionary<(string, string), (double Fwd, double Fb)>();
        foreach (var kind in new[] { "InstanceNorm2d", "BatchNorm2d" })
        {
            foreach (var shape in s_shapes)
            {
                var g = new Generator(1);
                using var x = Tensor.Randn(shape, g);
                using var dy = Tensor.Randn(shape, g);
                using var xg = x.Detach().SetRequiresGrad();
                using NormBase m = kind == "BatchNorm2d" ? new BatchNorm2d(shape[1]) : new InstanceNorm2d(shape[1]);
                double fwd = Median(() => { using var ng = Tensor.NoGrad(); using var y = m.Forward(x); }, 15);
                double fb = Median(() =>
                {
                    using var scope = new TensorScope();
                    var y = m.Forward(xg);
                    y.Backward(dy);
                    xg.Grad!.Dispose(); xg.Grad = null;
                    m.ZeroGrad();
                }, 9);
                ours[(kind, Key(shape))] = (fwd, fb);
            }
        }

        var torch = new Dictionary<(string, string), (double Fwd, double Fb)>();
        if (File.Exists(anchor))
        {
            var psi = new ProcessStartInfo(python, anchor) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Console.WriteLine(output.Split('\n')[0]);
            foreach (var line in output.Split('\n'))
            {
                // "InstanceNorm2d (32, 64, 56, 56)     1.23      4.56   ..."
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 7 || !parts[0].EndsWith("Norm2d", StringComparison.Ordinal)) continue;
                var dims = string.Join("", parts[1..5]).Trim('(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
                torch[(parts[0], Key(dims))] = (double.Parse(parts[5], System.Globalization.CultureInfo.InvariantCulture) / 1e3,
                    double.Parse(parts[6], System.Globalization.CultureInfo.InvariantCulture) / 1e3);
            }
        }
        else Console.WriteLine($"(PyTorch anchor not found at {anchor}; printing ours only)");

        Console.WriteLine();
        Console.WriteLine($"{"module",-15} {"shape",-15} {"fwd ms",8} {"torch",8} {"x",6} | {"fwd+bwd ms",10} {"torch",8} {"speedup",8} | {"floor ms",8} {"vs floor",8}");
        foreach (var ((kind, shape), (fwd, fb)) in ours)
        {
            long elements = shape.Split('x').Select(long.Parse).Aggregate(1L, (a, b) => a * b);
            double floor = 32.0 * elements / bw;
            string tf = "-", tfb = "-", sf = "-", sfb = "-";
            if (torch.TryGetValue((kind, shape), out var t))
            {
                tf = $"{t.Fwd * 1e3:F2}"; tfb = $"{t.Fb * 1e3:F2}";
                sf = $"{t.Fwd / fwd:F2}"; sfb = $"{t.Fb / fb:F2}x";
            }
            Console.WriteLine($"{kind,-15} {shape,-15} {fwd * 1e3,8:F2} {tf,8} {sf,6} | {fb * 1e3,10:F2} {tfb,8} {sfb,8} | {floor * 1e3,8:F2} {fb / floor,7:F2}x");
        }
        return 0;
    }

    private static string Key(int[] shape) => string.Join("x", shape);

    internal static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Framework.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
