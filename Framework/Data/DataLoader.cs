using System.Collections;

namespace Framework.Data;

/// <summary>
/// Iterates a <see cref="TensorDataset"/> in batches (PyTorch's <c>DataLoader</c>): each enumeration
/// is one epoch; with <c>shuffle</c> the order is a fresh permutation drawn from the seeded
/// <see cref="Generator"/>, so a run is reproducible from its seed.
/// </summary>
/// <remarks>
/// The loader owns the batches it yields: a batch stays valid until the next one is fetched (or the
/// enumeration ends), then its tensors are disposed. Clone what must outlive the step. Batches are
/// created outside any <see cref="TensorScope"/>, so a per-step scope inside the loop does not take them.
/// </remarks>
public sealed class DataLoader : IEnumerable<Tensor[]>
{
    private readonly Generator? _generator;

    /// <summary>Creates the loader; <paramref name="generator"/> is required when <paramref name="shuffle"/> is true.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch (the last one may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="shuffle">Draw a new order every epoch.</param>
    /// <param name="dropLast">Skip a final batch smaller than <paramref name="batchSize"/>.</param>
    /// <param name="generator">The seeded generator the permutations come from.</param>
    /// <param name="device">Where batches are delivered (default: the dataset's device).</param>
    /// <param name="sampler">Chooses the indices of each epoch (e.g. a DistributedSampler's shard); excludes <paramref name="shuffle"/>.</param>
    public DataLoader(TensorDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, Generator? generator = null, Device? device = null,
        ISampler? sampler = null)
    {
        if (sampler is not null && shuffle)
            throw new ArgumentException("DataLoader: sampler and shuffle are mutually exclusive (the sampler decides the order)", nameof(shuffle));
        Sampler = sampler;
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader expected batchSize > 0, got {batchSize}");
        if (shuffle && generator is null) throw new ArgumentException("DataLoader with shuffle needs a seeded Generator (pass generator: new Generator(seed))", nameof(generator));
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        _generator = generator;
        Device = device;
    }

    /// <summary>The samples.</summary>
    public TensorDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch draws a new order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a final short batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The device batches are moved to; null keeps the dataset's.</summary>
    public Device? Device { get; }

    /// <summary>Batches per epoch.</summary>
    public int Count => DropLast ? Samples / BatchSize : (int)(((long)Samples + BatchSize - 1) / BatchSize);

    /// <summary>The sampler choosing each epoch's indices; null for all samples (shuffled or in order).</summary>
    public ISampler? Sampler { get; }

    private int Samples => Sampler?.Length(Dataset.Count) ?? Dataset.Count; // long: n + batch - 1 overflows int for huge batches

    /// <summary>One epoch of batches.</summary>
    public IEnumerator<Tensor[]> GetEnumerator()
    {
        int[] order;
        if (Sampler is not null) order = Sampler.Indices(Dataset.Count);
        else
        {
            order = new int[Dataset.Count];
            for (int i = 0; i < order.Length; i++) order[i] = i;
            if (Shuffle) _generator!.Shuffle(order.AsSpan());
        }
        int n = order.Length;
        Tensor[]? current = null;
        try
        {
            for (int b = 0; b < Count; b++)
            {
                Release(current);
                int start = b * BatchSize, len = Math.Min(BatchSize, n - start);
                using (TensorScope.Suppress())
                {
                    current = Dataset.Gather(order.AsSpan(start, len));
                    if (Device is { } d)
                        for (int k = 0; k < current.Length; k++)
                        {
                            var moved = current[k].To(d);
                            if (!ReferenceEquals(moved, current[k])) { current[k].Dispose(); current[k] = moved; }
                        }
                }
                yield return current;
            }
        }
        finally
        {
            Release(current);
        }
    }

    private static void Release(Tensor[]? batch)
    {
        if (batch is null) return;
        foreach (var t in batch) t.Dispose();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
