using Framework.Data;

namespace Framework.Distributed;

/// <summary>
/// PyTorch's <c>DistributedSampler</c>: gives each rank a disjoint shard of the dataset for a
/// <see cref="DataLoader"/> (pass it as <c>sampler:</c>). Every epoch all ranks draw the same permutation
/// (seeded by <c>seed + epoch</c>: call <see cref="SetEpoch"/> before each epoch) and rank r takes positions
/// r, r + W, r + 2W... of it.
/// </summary>
/// <remarks>
/// Uneven sizes: without <c>dropLast</c> the permutation is padded by repeating its first indices up to a
/// multiple of the world size W (so a few samples are seen twice per epoch, and every rank gets
/// ceil(n / W)); with <c>dropLast</c> its tail is cut to a multiple of W (up to W - 1 samples are skipped
/// per epoch, a different few each epoch when shuffling). Either way every rank gets the same number of
/// samples, so the ranks run the same number of steps (each a set of collectives).
/// </remarks>
public sealed class DistributedSampler : ISampler
{
    /// <summary>A sampler for this process's rank in <paramref name="group"/>.</summary>
    public DistributedSampler(ProcessGroup group, bool shuffle = true, ulong seed = 0, bool dropLast = false)
        : this((group ?? throw new ArgumentNullException(nameof(group))).Rank, group.WorldSize, shuffle, seed, dropLast) { }

    /// <summary>A sampler for an explicit rank and world size.</summary>
    public DistributedSampler(int rank, int worldSize, bool shuffle = true, ulong seed = 0, bool dropLast = false)
    {
        if (worldSize <= 0) throw new ArgumentOutOfRangeException(nameof(worldSize), $"DistributedSampler expected worldSize > 0, got {worldSize}");
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), $"DistributedSampler expected a rank in [0, {worldSize}), got {rank}");
        Rank = rank;
        WorldSize = worldSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
    }

    /// <summary>This shard's rank.</summary>
    public int Rank { get; }

    /// <summary>The number of shards.</summary>
    public int WorldSize { get; }

    /// <summary>Whether each epoch draws a new permutation.</summary>
    public bool Shuffle { get; }

    /// <summary>The base seed of the permutations.</summary>
    public ulong Seed { get; }

    /// <summary>Cut the tail to a multiple of the world size instead of padding.</summary>
    public bool DropLast { get; }

    /// <summary>The epoch whose permutation <see cref="Indices"/> returns.</summary>
    public int Epoch { get; private set; }

    /// <summary>Selects the epoch (the same on every rank) so that each epoch has its own order.</summary>
    public void SetEpoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"DistributedSampler expected epoch >= 0, got {epoch}");
        Epoch = epoch;
    }

    /// <inheritdoc/>
    public int Length(int datasetCount)
    {
        if (datasetCount < 0) throw new ArgumentOutOfRangeException(nameof(datasetCount), $"DistributedSampler expected a dataset size >= 0, got {datasetCount}");
        return DropLast ? datasetCount / WorldSize : (int)(((long)datasetCount + WorldSize - 1) / WorldSize);
    }

    /// <inheritdoc/>
    public int[] Indices(int datasetCount)
    {
        int per = Length(datasetCount);
        var order = new int[datasetCount];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle) new Generator(unchecked(Seed + (ulong)Epoch)).Shuffle(order.AsSpan());
        var mine = new int[per];
        // Padding repeats the permutation from its start (wrapping again for tiny datasets).
        for (int k = 0; k < per; k++)
        {
            long pos = (long)k * WorldSize + Rank;
            mine[k] = datasetCount == 0 ? 0 : order[(int)(pos % datasetCount)];
        }
        return mine;
    }
}
