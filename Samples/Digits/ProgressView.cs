using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Digits;

/// <summary>How training reports progress: a live Spectre.Console bar on a terminal, plain lines otherwise.</summary>
internal interface IProgressView
{
    void BeginEpoch(int epoch, int epochs, int samples);

    void Update(int samplesDone, double loss, double accuracy, double samplesPerSecond);

    void EndEpoch(EpochMetrics m, int epochs, double etaSeconds);

    void Line(string text);
}

internal static class ProgressViews
{
    /// <summary>
    /// Runs <paramref name="body"/> with a live bar when no writer was given and the console is an
    /// interactive terminal; with plain lines on <paramref name="output"/> (or stdout) when redirected,
    /// so logs and CI output stay readable.
    /// </summary>
    public static void Run(TextWriter? output, Action<IProgressView> body)
    {
        if (output is null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx => body(new LiveView(ctx)));
            return;
        }
        body(new PlainView(output ?? Console.Out));
    }

    internal static string Summary(EpochMetrics m, int epochs, double eta) => string.Format(CultureInfo.InvariantCulture,
        "epoch {0}/{1}  train loss {2:F4} acc {3:P1}  held-out loss {4:F4} acc {5:P1}  {6:F0} samples/s  {7:F1} s  eta {8}",
        m.Epoch, epochs, m.TrainLoss, m.TrainAccuracy, m.TestLoss, m.TestAccuracy, m.SamplesPerSecond, m.Seconds, Eta(eta));

    internal static string Eta(double seconds) => TimeSpan.FromSeconds(Math.Max(0, Math.Round(seconds))).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);

    private sealed class LiveView(ProgressContext ctx) : IProgressView
    {
        private ProgressTask? _task;
        private int _epoch, _epochs;

        public void BeginEpoch(int epoch, int epochs, int samples)
        {
            (_epoch, _epochs) = (epoch, epochs);
            _task = ctx.AddTask($"epoch {epoch}/{epochs}", maxValue: Math.Max(samples, 1));
        }

        public void Update(int samplesDone, double loss, double accuracy, double samplesPerSecond)
        {
            _task!.Value = samplesDone;
            _task.Description = string.Format(CultureInfo.InvariantCulture, "epoch {0}/{1}  loss {2:F4}  acc {3:P1}  {4:F0} samples/s",
                _epoch, _epochs, loss, accuracy, samplesPerSecond);
        }

        public void EndEpoch(EpochMetrics m, int epochs, double etaSeconds)
        {
            // The bar keeps a short description (terminals are often 80 columns); the full figures go above it.
            _task!.Value = _task.MaxValue;
            _task.Description = string.Format(CultureInfo.InvariantCulture, "epoch {0}/{1}  held-out acc {2:P1}", m.Epoch, epochs, m.TestAccuracy);
            _task.StopTask();
            AnsiConsole.MarkupLine(Markup.Escape(Summary(m, epochs, etaSeconds)));
        }

        public void Line(string text) => AnsiConsole.MarkupLine(Markup.Escape(text));
    }

    private sealed class PlainView(TextWriter w) : IProgressView
    {
        private readonly Stopwatch _sinceLine = new();
        private int _epoch, _epochs, _samples;

        public void BeginEpoch(int epoch, int epochs, int samples)
        {
            (_epoch, _epochs, _samples) = (epoch, epochs, samples);
            _sinceLine.Restart();
        }

        // Long epochs (Fashion-MNIST) get a line every 10 seconds so a redirected log still shows life.
        public void Update(int samplesDone, double loss, double accuracy, double samplesPerSecond)
        {
            if (_sinceLine.Elapsed.TotalSeconds < 10) return;
            _sinceLine.Restart();
            double left = samplesPerSecond > 0 ? (_samples - samplesDone) / samplesPerSecond : 0;
            w.WriteLine(string.Format(CultureInfo.InvariantCulture, "epoch {0}/{1}  {2}/{3}  loss {4:F4}  acc {5:P1}  {6:F0} samples/s  epoch time left {7}",
                _epoch, _epochs, samplesDone, _samples, loss, accuracy, samplesPerSecond, Eta(left)));
        }

        public void EndEpoch(EpochMetrics m, int epochs, double etaSeconds) => w.WriteLine(Summary(m, epochs, etaSeconds));

        public void Line(string text) => w.WriteLine(text);
    }
}
