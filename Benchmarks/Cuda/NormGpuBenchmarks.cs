using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Framework.Cuda;
using Framework.Cuda.Kernels;

namespace Benchmarks.Cuda;

/// <summary>
/// The norm kernels of kernels/norm.ptx, norm_bwd.ptx on a real GPU (native driver), float32, at the anchor shapes:
/// each benchmark is one phase (its 1-2 launches) followed by a device synchronize. Bandwidth = the
/// bytes per element of <c>norm-traffic</c> (Benchmarks/README.md, kernels/README.md) times the
/// element count over the measured time; the floor is the device's copy bandwidth.
/// Run with <c>dotnet run -c Release --project Benchmarks -- norm-gpu</c>, which prints why and
/// exits when no GPU or driver is present (also through BenchmarkSwitcher: setup fails with the reason).
/// </summary>
[MinColumn, MedianColumn]
public class NormGpuBenchmarks
{
    private ICudaDriver _driver = null!;
    private NormLauncher _norm = null!;
    private int _n, _c;
    private long _s;
    private ulong _x, _y, _dy, _dx, _gamma, _beta, _mean, _rstd, _rm, _rv, _dg, _db, _imean, _irstd;

    /// <summary>Anchor shape N x C x H x W.</summary>
    [Params("32x64x56x56", "8x32x128x128", "64x256x14x14", "16x3x256x256")]
    public string Shape { get; set; } = "";

    /// <summary>Whether a GPU and driver can be opened, and if not, why.</summary>
    public static bool Available(out string reason)
    {
        string? why = NativeCudaDriver.Probe(0);
        reason = why is null ? "" : $"norm GPU benchmarks skipped: {why}";
        return why is null;
    }

    /// <summary>Opens the GPU and uploads the data.</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (!Available(out string reason)) throw new InvalidOperationException(reason);
        _driver = NativeCudaDriver.Open(0);
        _norm = new NormLauncher(NormLauncher.DriverLaunch(_driver), _driver.Allocate, _driver.Free);
        int[] d = Shape.Split('x').Select(int.Parse).ToArray();
        (_n, _c, _s) = (d[0], d[1], (long)d[2] * d[3]);
        long len = _n * _c * _s;
        var rng = new Random(1);
        float[] data = new float[len];
        for (long i = 0; i < len; i++) data[i] = (float)(rng.NextDouble() * 4 - 1);
        _x = Up(data); _dy = Up(data); _y = Up(new float[len]); _dx = Up(new float[len]);
        float[] ones = Enumerable.Repeat(1f, _c).ToArray();
        _gamma = Up(ones); _beta = Up(new float[_c]); _mean = Up(new float[_c]); _rstd = Up(ones);
        _rm = Up(new float[_c]); _rv = Up(ones); _dg = Up(new float[_c]); _db = Up(new float[_c]);
        _imean = Up(new float[_n * _c]); _irstd = Up(Enumerable.Repeat(1f, _n * _c).ToArray());
    }

    private ulong Up(float[] a)
    {
        ulong p = _driver.Allocate((ulong)a.Length * 4);
        _driver.CopyHostToDevice(p, MemoryMarshal.AsBytes(a.AsSpan()));
        return p;
    }

    /// <summary>Releases the device memory and the driver.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (ulong p in new[] { _x, _y, _dy, _dx, _gamma, _beta, _mean, _rstd, _rm, _rv, _dg, _db, _imean, _irstd }) _driver.Free(p);
        _driver.Dispose();
    }

    /// <summary>BatchNorm training forward (statistics, running update, y).</summary>
    [Benchmark]
    public void BatchNormForward()
    {
        _norm.BatchNormForward(false, _x, _y, _n, _c, _s, _gamma, _beta, 1e-5, _mean, _rstd, _rm, _rv, 0.1);
        _driver.Synchronize();
    }

    /// <summary>BatchNorm eval forward.</summary>
    [Benchmark]
    public void BatchNormForwardEval()
    {
        _norm.BatchNormForwardEval(false, _x, _y, _n, _c, _s, _rm, _rv, 1e-5, _gamma, _beta);
        _driver.Synchronize();
    }

    /// <summary>BatchNorm training backward (dx, dgamma, dbeta).</summary>
    [Benchmark]
    public void BatchNormBackward()
    {
        _norm.BatchNormBackward(false, _x, _dy, _n, _c, _s, _mean, _rstd, _gamma, _dx, _dg, _db);
        _driver.Synchronize();
    }

    /// <summary>InstanceNorm forward.</summary>
    [Benchmark]
    public void InstanceNormForward()
    {
        _norm.GroupNormForward(false, _x, _y, _n, _c, _s, _c, _gamma, _beta, 1e-5, _imean, _irstd, 0, 0, 0);
        _driver.Synchronize();
    }

    /// <summary>InstanceNorm backward (dx, dgamma, dbeta).</summary>
    [Benchmark]
    public void InstanceNormBackward()
    {
        _norm.GroupNormBackward(false, _x, _dy, _n, _c, _s, _c, _imean, _irstd, _gamma, _dx, _dg, _db);
        _driver.Synchronize();
    }
}
