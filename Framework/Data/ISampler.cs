namespace Framework.Data;

/// <summary>
/// Chooses which samples of a dataset a <see cref="DataLoader"/> visits in one epoch, and in what order
/// (PyTorch's <c>Sampler</c>); e.g. Framework.Distributed's <c>DistributedSampler</c> gives each process its shard.
/// </summary>
public interface ISampler
{
    /// <summary>The dataset indices of the next epoch, in visiting order (each in [0, <paramref name="datasetCount"/>)).</summary>
    int[] Indices(int datasetCount);

    /// <summary>How many indices <see cref="Indices"/> returns for a dataset of <paramref name="datasetCount"/> samples.</summary>
    int Length(int datasetCount);
}
