namespace Digits;

/// <summary>The sample's settings, after the command line was parsed and checked.</summary>
/// <param name="Device">cpu, cuda or emulated.</param>
/// <param name="Epochs">Epochs to train in total (a resumed run continues up to this count).</param>
/// <param name="BatchSize">Samples per training batch.</param>
/// <param name="Lr">Adam's initial learning rate (annealed by a cosine schedule over the epochs).</param>
/// <param name="Seed">Seed of the initial weights, the held-out split and the shuffling.</param>
/// <param name="DataDir">Directory with MNIST-style IDX files; null trains on the bundled digits.</param>
/// <param name="OutDir">Where the checkpoint, the plot and the metrics go.</param>
/// <param name="Resume">Continue from the checkpoint in <paramref name="OutDir"/>.</param>
/// <param name="Limit">Use at most this many training and held-out images (0: all); for quick runs and tests.</param>
public sealed record TrainingOptions(string Device, int Epochs, int BatchSize, double Lr, ulong Seed, string? DataDir, string OutDir, bool Resume, int Limit)
{
    /// <summary>Train data-parallel over the processes mpirun started (DDP + SyncBatchNorm); only rank 0 prints and writes files.</summary>
    public bool Distributed { get; init; }
}
