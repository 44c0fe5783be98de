using System.Diagnostics;
using System.Globalization;
using Framework;
using Framework.Data;
using Framework.Distributed;
using Framework.IO;
using Framework.Nn;
using Framework.Onnx;
using Framework.Optim;

namespace Digits;

/// <summary>
/// The training run: data, model, Adam with a cosine schedule, one checkpoint (model + optimizer +
/// schedule + history) and one plot per epoch. Resuming reproduces an uninterrupted run: the split
/// and each epoch's shuffling depend only on the seed and the epoch number.
/// </summary>
internal sealed class Trainer(TrainingOptions o, Device device, TextWriter? output, ProcessGroup? group = null)
{
    private const string CheckpointName = "checkpoint.safetensors";
    private const string OnnxName = "digits.onnx";
    private const int EvalBatch = 256;

    private string CheckpointPath => Path.Combine(o.OutDir, CheckpointName);

    public int Run()
    {
        var total = Stopwatch.StartNew();
        var (train, test, dataName) = LoadData();
        CheckData(train, test, dataName);
        int classes = Math.Max(train.Classes, test.Classes);
        // ArgumentException: an empty path or one with a NUL character.
        try { Directory.CreateDirectory(o.OutDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { throw new UsageException($"--out {o.OutDir}: {e.Message}", e); }

        using var model = DigitsNet.Build(train.Height, train.Width, classes, new Generator(o.Seed), device);
        bool writer = group is null || group.Rank == 0;
        using var opt = new Adam(model.Parameters(), o.Lr);
        var sched = new CosineAnnealingLR(opt, o.Epochs);
        var history = new List<EpochMetrics>();
        if (o.Resume) Resume(model, opt, sched, history, dataName);
        // Distributed: BatchNorm statistics over the global batch, gradients averaged over the ranks
        // (the wrap also broadcasts rank 0's weights, so every replica starts equal).
        using var ddp = group is null ? null : new DistributedDataParallel(SyncBatchNorm.Convert(model, group), group);

        using var scope = new TensorScope();
        var trainSet = train.ToDataset();
        var testSet = test.ToDataset();
        ProgressViews.Run(output, view =>
        {
            if (group is not null) view.Line($"distributed: {group.WorldSize} processes, {o.BatchSize / group.WorldSize} samples each per step (DistributedDataParallel, SyncBatchNorm)");
            view.Line($"{dataName}: {train.Count} training and {test.Count} held-out images of {train.Height}x{train.Width}, {classes} classes; " +
                $"{model.Parameters().Sum(p => p.Numel)} parameters on {device}; Adam lr {o.Lr.ToString(CultureInfo.InvariantCulture)}, batch {o.BatchSize}");
            if (history.Count > 0) view.Line($"resumed after epoch {history.Count} from {CheckpointPath}");
            for (int epoch = history.Count; epoch < o.Epochs; epoch++)
            {
                var m = TrainEpoch(model, (Layer?)ddp ?? model, opt, trainSet, testSet, epoch, view);
                sched.Step();
                history.Add(m);
                if (writer) Save(model, opt, sched, history, dataName);
                double mean = history.Skip(Math.Max(0, history.Count - 3)).Average(h => h.Seconds);
                view.EndEpoch(m, o.Epochs, mean * (o.Epochs - epoch - 1));
            }
            var last = history[^1];
            var onnxPath = Path.Combine(o.OutDir, OnnxName);
            ExportOnnx(model, train.Height, train.Width, onnxPath);
            view.Line(string.Format(CultureInfo.InvariantCulture, "done: held-out accuracy {0:P2} after {1} epochs; wall time {2:F1} s; wrote {3}, {4}, {5} and {6}",
                last.TestAccuracy, history.Count, total.Elapsed.TotalSeconds, CheckpointPath, onnxPath, Path.Combine(o.OutDir, "metrics.svg"), Path.Combine(o.OutDir, "metrics.csv")));
        });
        return 0;
    }

    private (LabeledImages Train, LabeledImages Test, string Name) LoadData()
    {
        try
        {
            if (o.DataDir is null)
            {
                var all = DigitsCsv.Load(Path.Combine(AppContext.BaseDirectory, "digits.csv.gz"));
                // 20% held out, drawn from the seed: the same split on every run and resume with this seed.
                var (trainIdx, testIdx) = all.Split(0.2, new Generator(o.Seed ^ 0x5EED5EEDUL));
                return (Subset(all, trainIdx), Subset(all, testIdx), "digits");
            }
            var train = Idx.LoadDirectory(o.DataDir, train: true);
            var test = Idx.LoadDirectory(o.DataDir, train: false);
            if (train.Height != test.Height || train.Width != test.Width)
                throw new InvalidDataException($"training images are {train.Height}x{train.Width} but held-out images {test.Height}x{test.Width}");
            return (Limit(train), Limit(test), Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(o.DataDir))));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the data{(o.DataDir is null ? "" : $" in --data {o.DataDir}")}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Data the network cannot train on, said before any model is built: an empty set would report a
    /// NaN loss, and images under 2x2 vanish in the network's 2x2 max pooling.
    /// </summary>
    private static void CheckData(LabeledImages train, LabeledImages test, string dataName)
    {
        if (train.Count == 0) throw new UsageException($"{dataName}: the training set holds no images");
        if (test.Count == 0) throw new UsageException($"{dataName}: the held-out set holds no images");
        if (train.Height < 2 || train.Width < 2)
            throw new UsageException($"{dataName}: images of {train.Height}x{train.Width} are too small for the network, which needs at least 2x2 (it max-pools 2x2)");
    }

    private LabeledImages Subset(LabeledImages all, int[] indices) => Limit(Pick(all, indices));

    private LabeledImages Limit(LabeledImages d) => o.Limit > 0 && d.Count > o.Limit ? Pick(d, Enumerable.Range(0, o.Limit).ToArray()) : d;

    private static LabeledImages Pick(LabeledImages d, int[] indices)
    {
        int size = d.Height * d.Width;
        var px = new float[(long)indices.Length * size];
        for (int r = 0; r < indices.Length; r++) Array.Copy(d.Pixels, (long)indices[r] * size, px, (long)r * size, size);
        return new LabeledImages(px, indices.Select(i => d.Labels[i]).ToArray(), d.Height, d.Width, d.MaxValue);
    }

    private EpochMetrics TrainEpoch(Sequential model, Layer net, Optimizer opt, TensorDataset trainSet, TensorDataset testSet, int epoch, IProgressView view)
    {
        var clock = Stopwatch.StartNew();
        // Each epoch's order comes from (seed, epoch) alone, so a resumed run shuffles as an uninterrupted one.
        ulong shuffleSeed = o.Seed * 1_000_003UL + (ulong)epoch + 1;
        DataLoader loader;
        if (group is null) loader = new DataLoader(trainSet, o.BatchSize, shuffle: true, generator: new Generator(shuffleSeed), device: device);
        else
        {
            // Disjoint shards of one seeded permutation; each rank takes its share of every global batch.
            var sampler = new DistributedSampler(group, shuffle: true, seed: shuffleSeed);
            loader = new DataLoader(trainSet, o.BatchSize / group.WorldSize, device: device, sampler: sampler);
        }
        view.BeginEpoch(epoch + 1, o.Epochs, trainSet.Count);
        model.Train();
        double lossSum = 0;
        long correct = 0;
        int seen = 0;
        foreach (var batch in loader)
        {
            using var step = new TensorScope();
            var logits = net.Forward(batch[0]);
            var loss = F.CrossEntropy(logits, batch[1]);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            int n = batch[1].Size(0);
            lossSum += loss.Item() * n;
            correct += Correct(logits, batch[1]);
            seen += n;
            view.Update(seen, lossSum / seen, (double)correct / seen, seen / clock.Elapsed.TotalSeconds);
        }
        if (group is not null)
        {
            // The epoch's training metrics over every rank's samples.
            var sums = new[] { lossSum, correct, seen };
            group.AllReduce<double>(sums);
            (lossSum, correct, seen) = (sums[0], (long)sums[1], (int)sums[2]);
        }
        double trainSeconds = clock.Elapsed.TotalSeconds;
        var (testLoss, testAcc) = Evaluate(model, testSet);
        return new EpochMetrics(epoch + 1, lossSum / seen, (double)correct / seen, testLoss, testAcc, clock.Elapsed.TotalSeconds, seen / trainSeconds);
    }

    private (double Loss, double Accuracy) Evaluate(Sequential model, TensorDataset testSet)
    {
        model.Eval();
        using var noGrad = Tensor.NoGrad();
        double lossSum = 0;
        long correct = 0;
        foreach (var batch in new DataLoader(testSet, EvalBatch, device: device))
        {
            using var step = new TensorScope();
            var logits = model.Forward(batch[0]);
            lossSum += F.CrossEntropy(logits, batch[1], Reduction.Sum).Item();
            correct += Correct(logits, batch[1]);
        }
        model.Train();
        return (lossSum / Math.Max(testSet.Count, 1), (double)correct / Math.Max(testSet.Count, 1));
    }

    private static long Correct(Tensor logits, Tensor labels)
    {
        var predicted = logits.ArgMax(1).ToArray<long>();
        var truth = labels.ToArray<long>();
        long c = 0;
        for (int i = 0; i < truth.Length; i++) if (predicted[i] == truth[i]) c++;
        return c;
    }

    private void Save(Sequential model, Optimizer opt, LRScheduler sched, List<EpochMetrics> history, string dataName)
    {
        var meta = new Dictionary<string, string>
        {
            ["epoch"] = history.Count.ToString(CultureInfo.InvariantCulture),
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["data"] = dataName,
            ["history"] = string.Join("\n", history.Select(h => h.ToCsv())),
        };
        Checkpoint.Save(CheckpointPath, model, opt, sched, meta);
        var title = $"{dataName}: held-out accuracy {history[^1].TestAccuracy.ToString("P1", CultureInfo.InvariantCulture)} after {history.Count} epochs";
        WriteAtomically(Path.Combine(o.OutDir, "metrics.svg"), SvgPlot.Render(history, title));
        WriteAtomically(Path.Combine(o.OutDir, "metrics.csv"), EpochMetrics.CsvHeader + "\n" + string.Join("\n", history.Select(h => h.ToCsv())) + "\n");
    }

    /// <summary>The trained network as ONNX (batch axis symbolic) for ONNX Runtime, written once at the end, atomically.</summary>
    private void ExportOnnx(Sequential model, int height, int width, string path)
    {
        using var sample = Tensor.Zeros([1, 1, height, width], DType.Float32, device);
        var temp = path + ".tmp";
        model.ExportOnnx(temp, sample, new OnnxExportOptions { DocString = "Digits sample: 8x8 digit images (N, 1, H, W), pixels divided by their maximum (16) as in training, to class logits" });
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    private void Resume(Sequential model, Optimizer opt, LRScheduler sched, List<EpochMetrics> history, string dataName)
    {
        if (!File.Exists(CheckpointPath)) throw new UsageException($"--resume: no checkpoint at {CheckpointPath}");
        IReadOnlyDictionary<string, string> meta;
        try
        {
            meta = Checkpoint.Load(CheckpointPath, model, opt, sched);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            throw new UsageException($"--resume: cannot load {CheckpointPath}: {e.Message}", e);
        }
        history.AddRange(ResumeMetadata.Read(meta, CheckpointPath, o.Seed, dataName));
    }
}
