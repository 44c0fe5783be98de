namespace Framework.Distributed.Tests;

/// <summary>DistributedDataParallel cases (not built yet).</summary>
internal static class DdpCases
{
    public static void Run(ProcessGroup g, Device device) =>
        throw new NotImplementedException($"ddp case: DistributedDataParallel is not built yet (rank {g.Rank}, {device})");
}
