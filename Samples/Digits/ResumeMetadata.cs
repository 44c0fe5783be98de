using System.Globalization;

namespace Digits;

/// <summary>
/// The sample's metadata in a checkpoint (<c>epoch</c>, <c>seed</c>, <c>data</c>, <c>history</c>), read
/// back on <c>--resume</c>. Every problem is a <see cref="UsageException"/>: the file may be damaged or
/// from another run, and the command line reports it in one line.
/// </summary>
public static class ResumeMetadata
{
    /// <summary>Checks that the checkpoint at <paramref name="path"/> belongs to this run and returns its epoch history.</summary>
    public static List<EpochMetrics> Read(IReadOnlyDictionary<string, string> meta, string path, ulong seed, string dataName)
    {
        ArgumentNullException.ThrowIfNull(meta);
        string Get(string k) => meta.TryGetValue(k, out var v) ? v : throw new UsageException($"--resume: {path} has no \"{k}\" metadata; it was not written by this sample");
        static string Short(string s) => s.Length <= 100 ? s : s[..100] + "...";
        if (Get("seed") != seed.ToString(CultureInfo.InvariantCulture))
            throw new UsageException($"--resume: the checkpoint was trained with --seed {Short(Get("seed"))}, this run has --seed {seed}");
        if (Get("data") != dataName)
            throw new UsageException($"--resume: the checkpoint was trained on {Short(Get("data"))}, this run reads {dataName}");
        var history = new List<EpochMetrics>();
        try
        {
            foreach (var line in Get("history").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var m = EpochMetrics.FromCsv(line);
                if (m.Epoch != history.Count + 1) throw new FormatException($"entry {history.Count + 1} is for epoch {m.Epoch}");
                history.Add(m);
            }
        }
        catch (FormatException e)
        {
            throw new UsageException($"--resume: the history in {path} is malformed: {e.Message}", e);
        }
        // "epoch" is written with the history; a file where they disagree was edited or damaged.
        if (!int.TryParse(Get("epoch"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch) || epoch != history.Count)
            throw new UsageException($"--resume: {path} says epoch \"{Short(Get("epoch"))}\" but holds a history of {history.Count} epochs");
        return history;
    }
}
