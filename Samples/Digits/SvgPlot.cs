using System.Globalization;
using System.Text;

namespace Digits;

/// <summary>One epoch's figures.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch (in training mode, as the weights moved).</param>
/// <param name="TestLoss">Mean held-out loss in eval mode after the epoch.</param>
/// <param name="TestAccuracy">Held-out accuracy in eval mode after the epoch.</param>
/// <param name="Seconds">Wall time of the epoch (training and evaluation).</param>
/// <param name="SamplesPerSecond">Training throughput.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds, double SamplesPerSecond)
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>The CSV header matching <see cref="ToCsv"/>.</summary>
    public const string CsvHeader = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,samples_per_second";

    /// <summary>One CSV line (invariant culture, round-trippable).</summary>
    public string ToCsv() => string.Join(",", Epoch.ToString(s_inv), TrainLoss.ToString("R", s_inv), TrainAccuracy.ToString("R", s_inv),
        TestLoss.ToString("R", s_inv), TestAccuracy.ToString("R", s_inv), Seconds.ToString("R", s_inv), SamplesPerSecond.ToString("R", s_inv));

    /// <summary>Parses a line written by <see cref="ToCsv"/>; anything else (an overflowing number included) is a <see cref="FormatException"/>.</summary>
    public static EpochMetrics FromCsv(string line)
    {
        var f = line.Split(',');
        if (f.Length != 7) throw new FormatException($"expected 7 fields of epoch metrics, got {f.Length}");
        static string Short(string s) => s.Length <= 100 ? s : s[..100] + "...";
        double D(int i) => double.TryParse(f[i], NumberStyles.Float, s_inv, out double v) ? v
            : throw new FormatException($"field {i + 1} \"{Short(f[i])}\" is not a number");
        // TryParse: int.Parse throws OverflowException, not FormatException, for "99999999999".
        if (!int.TryParse(f[0], NumberStyles.Integer, s_inv, out int epoch) || epoch < 1)
            throw new FormatException($"epoch \"{Short(f[0])}\" is not a positive 32-bit integer");
        return new EpochMetrics(epoch, D(1), D(2), D(3), D(4), D(5), D(6));
    }
}

/// <summary>
/// Writes the loss and accuracy curves as a self-contained SVG: loss on the left axis, accuracy on the
/// right, training solid and held-out dashed. Hand-written to keep the sample free of plotting packages.
/// </summary>
public static class SvgPlot
{
    private const int W = 760, H = 400, Left = 70, Right = 70, Top = 40, Bottom = 55;

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>The SVG text for <paramref name="history"/>.</summary>
    public static string Render(IReadOnlyList<EpochMetrics> history, string title)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{W / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>\n");
        double pw = W - Left - Right, ph = H - Top - Bottom;
        int n = Math.Max(history.Count, 1);
        double maxLoss = Math.Max(1e-9, history.Count == 0 ? 1 : history.Max(m => Math.Max(m.TrainLoss, m.TestLoss))) * 1.05;
        double minAcc = history.Count == 0 ? 0 : Math.Floor(Math.Min(history.Min(m => Math.Min(m.TrainAccuracy, m.TestAccuracy)), 0.9) * 10) / 10;
        double X(int epoch) => Left + (n == 1 ? pw / 2 : (epoch - 1) * pw / (n - 1));
        double YLoss(double v) => Top + ph - v / maxLoss * ph;
        double YAcc(double v) => Top + ph - (v - minAcc) / (1 - minAcc) * ph;

        // Frame, grid and ticks.
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{F(pw)}\" height=\"{F(ph)}\" fill=\"none\" stroke=\"#888\"/>\n");
        for (int k = 0; k <= 5; k++)
        {
            double y = Top + ph - k * ph / 5;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{F(y)}\" x2=\"{F(Left + pw)}\" y2=\"{F(y)}\" stroke=\"#eee\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{F(y + 4)}\" text-anchor=\"end\" fill=\"#1f77b4\">{(maxLoss * k / 5).ToString("0.###", CultureInfo.InvariantCulture)}</text>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left + pw + 6)}\" y=\"{F(y + 4)}\" fill=\"#d62728\">{((minAcc + (1 - minAcc) * k / 5) * 100).ToString("0.#", CultureInfo.InvariantCulture)}%</text>\n");
        }
        int step = Math.Max(1, (int)Math.Ceiling(n / 10.0));
        for (int e = 1; e <= n; e += step)
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(e))}\" y=\"{F(Top + ph + 18)}\" text-anchor=\"middle\">{e}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left + pw / 2)}\" y=\"{H - 12}\" text-anchor=\"middle\">epoch</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(18 {F(Top + ph / 2)}) rotate(-90)\" text-anchor=\"middle\" fill=\"#1f77b4\">loss</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate({W - 14} {F(Top + ph / 2)}) rotate(90)\" text-anchor=\"middle\" fill=\"#d62728\">accuracy</text>\n");

        void Series(Func<EpochMetrics, double> value, Func<double, double> y, string color, bool dashed, string label, int legendRow)
        {
            if (history.Count == 0) return;
            string dash = dashed ? " stroke-dasharray=\"6 4\"" : "";
            var pts = string.Join(" ", history.Select(m => $"{F(X(m.Epoch - history[0].Epoch + 1))},{F(y(value(m)))}"));
            sb.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{pts}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\n");
            foreach (var m in history)
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(m.Epoch - history[0].Epoch + 1))}\" cy=\"{F(y(value(m)))}\" r=\"2.5\" fill=\"{color}\"/>\n");
            // Middle right: accuracy curves hug the top and loss curves the bottom once training converges.
            double ly = Top + ph * 0.4 + legendRow * 16, lx = Left + pw - 170;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(lx)}\" y1=\"{F(ly)}\" x2=\"{F(lx + 26)}\" y2=\"{F(ly)}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(lx + 32)}\" y=\"{F(ly + 4)}\">{label}</text>\n");
        }
        Series(m => m.TrainLoss, YLoss, "#1f77b4", false, "training loss", 0);
        Series(m => m.TestLoss, YLoss, "#1f77b4", true, "held-out loss", 1);
        Series(m => m.TrainAccuracy, YAcc, "#d62728", false, "training accuracy", 2);
        Series(m => m.TestAccuracy, YAcc, "#d62728", true, "held-out accuracy", 3);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
