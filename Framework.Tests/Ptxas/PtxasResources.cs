using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Framework.Tests.Ptxas;

/// <summary>One kernel's resources as <c>ptxas -v</c> reports them.</summary>
internal sealed record KernelResources(string Module, string Kernel, string Arch, int Registers, int SpillStoreBytes,
    int SpillLoadBytes, int StackBytes, int SharedBytes)
{
    public int SpillBytes => SpillStoreBytes + SpillLoadBytes;
}

/// <summary>
/// The per-SM limits that bound occupancy (CUDA C Programming Guide, "Compute Capabilities" table;
/// the occupancy calculator's granularities): the register file is split over four sub-partitions
/// and handed out per warp in units of 256 registers; from sm_80 on the driver reserves 1 KiB of
/// shared memory per block.
/// </summary>
internal sealed record ArchLimits(string Arch, int RegistersPerSm, int MaxWarpsPerSm, int MaxBlocksPerSm, int SharedPerSm, int SharedReservedPerBlock)
{
    public static readonly ArchLimits[] All =
    [
        new("sm_75", 65536, 32, 16, 64 * 1024, 0),
        new("sm_80", 65536, 64, 32, 164 * 1024, 1024),
        new("sm_90", 65536, 64, 32, 228 * 1024, 1024),
    ];

    public static ArchLimits Of(string arch) => All.Single(a => a.Arch == arch);

    /// <summary>Resident blocks of <paramref name="threads"/> threads per SM and the occupancy (active warps / max warps) they give.</summary>
    public (int Blocks, double Occupancy, string Limiter) Occupancy(KernelResources k, int threads)
    {
        int warpsPerBlock = (threads + 31) / 32;
        int byWarps = Math.Min(MaxBlocksPerSm, MaxWarpsPerSm / warpsPerBlock);
        // Registers: per warp, rounded up to 256; each of the 4 sub-partitions holds a quarter of the file.
        int regsPerWarp = Math.Max(1, (k.Registers * 32 + 255) / 256 * 256);
        int warpsByRegs = 4 * (RegistersPerSm / 4 / regsPerWarp);
        int byRegs = warpsByRegs / warpsPerBlock;
        int byShared = k.SharedBytes == 0 ? int.MaxValue : SharedPerSm / (k.SharedBytes + SharedReservedPerBlock);
        int blocks = Math.Min(byWarps, Math.Min(byRegs, byShared));
        string limiter = blocks == byRegs && byRegs < byWarps ? "registers" : blocks == byShared && byShared < byWarps ? "shared" : "threads";
        return (blocks, blocks * warpsPerBlock / (double)MaxWarpsPerSm, limiter);
    }
}

internal static partial class PtxasResources
{
    /// <summary>Parses <c>ptxas -v</c> output into one record per entry function.</summary>
    public static List<KernelResources> Parse(string module, string arch, string output)
    {
        var result = new List<KernelResources>();
        string? kernel = null;
        int stack = 0, spillStores = 0, spillLoads = 0;
        foreach (var line in output.Split('\n'))
        {
            if (CompilingLine().Match(line) is { Success: true } c) { kernel = c.Groups[1].Value; stack = spillStores = spillLoads = 0; continue; }
            if (FrameLine().Match(line) is { Success: true } f)
            {
                stack = Int(f.Groups[1]); spillStores = Int(f.Groups[2]); spillLoads = Int(f.Groups[3]);
                continue;
            }
            if (UsedLine().Match(line) is { Success: true } u && kernel is not null)
            {
                var smem = SmemPart().Match(line);
                result.Add(new KernelResources(module, kernel, arch, Int(u.Groups[1]), spillStores, spillLoads, stack, smem.Success ? Int(smem.Groups[1]) : 0));
                kernel = null;
            }
        }
        return result;
    }

    private static int Int(Group g) => int.Parse(g.Value, CultureInfo.InvariantCulture);

    /// <summary>A markdown table of every kernel of one arch, occupancy at <paramref name="threads"/> threads per block.</summary>
    public static string Table(IEnumerable<KernelResources> kernels, string arch, int threads)
    {
        var limits = ArchLimits.Of(arch);
        var sb = new StringBuilder();
        sb.Append("| module | kernel | registers | spill bytes | stack bytes | static shared bytes | blocks/SM @").Append(threads).Append(" | occupancy | limited by |\n");
        sb.Append("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        foreach (var k in kernels.Where(k => k.Arch == arch).OrderBy(k => k.Module, StringComparer.Ordinal).ThenBy(k => k.Kernel, StringComparer.Ordinal))
        {
            var (blocks, occ, limiter) = limits.Occupancy(k, threads);
            sb.Append(CultureInfo.InvariantCulture, $"| {k.Module} | `{k.Kernel}` | {k.Registers} | {k.SpillBytes} | {k.StackBytes} | {k.SharedBytes} | {blocks} | {occ:P0} | {limiter} |\n");
        }
        return sb.ToString();
    }

    [GeneratedRegex(@"Compiling entry function '([^']+)' for '(sm_\d+)'")]
    private static partial Regex CompilingLine();

    [GeneratedRegex(@"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")]
    private static partial Regex FrameLine();

    [GeneratedRegex(@"Used (\d+) registers?")]
    private static partial Regex UsedLine();

    [GeneratedRegex(@"(\d+) bytes smem")]
    private static partial Regex SmemPart();
}
