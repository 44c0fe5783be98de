using System.Globalization;

namespace Framework.Data;

/// <summary>
/// Reads the UCI handwritten digits as shipped by scikit-learn (<c>digits.csv.gz</c>): one image per
/// line, 64 pixel values 0..16 of an 8x8 image, then the label 0..9; comma separated, no header,
/// optionally gzip-compressed.
/// </summary>
public static class DigitsCsv
{
    /// <summary>Pixels per image.</summary>
    public const int Pixels = 64;

    /// <summary>Reads the file; malformed lines are reported with their line number (<see cref="InvalidDataException"/>).</summary>
    public static LabeledImages Load(string path)
    {
        var pixels = new List<float>();
        var labels = new List<long>();
        int lineNo = 0;
        try
        {
            using var stream = DataFiles.OpenMaybeGzip(path);
            using var reader = new StreamReader(stream);
            for (string? line; (line = reader.ReadLine()) is not null;)
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var fields = line.Split(',');
                if (fields.Length != Pixels + 1)
                    throw Bad(path, lineNo, $"expected {Pixels + 1} comma-separated values (64 pixels, then the label), got {fields.Length}");
                for (int k = 0; k <= Pixels; k++)
                {
                    if (!double.TryParse(fields[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v != Math.Floor(v))
                        throw Bad(path, lineNo, $"value {k + 1} \"{Short(fields[k].Trim())}\" is not an integer");
                    if (k < Pixels)
                    {
                        if (v is < 0 or > 16) throw Bad(path, lineNo, $"pixel {k + 1} is {v}, outside 0..16");
                        pixels.Add((float)v);
                    }
                    else
                    {
                        if (v is < 0 or > 9) throw Bad(path, lineNo, $"label is {v}, outside 0..9");
                        labels.Add((long)v);
                    }
                }
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("digits CSV", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"digits CSV '{path}': the gzip stream is corrupted ({e.Message})", e);
        }
        if (labels.Count == 0) throw new InvalidDataException($"digits CSV '{path}' holds no images");
        return new LabeledImages(pixels.ToArray(), labels.ToArray(), 8, 8, 16);
    }

    // A damaged file may hold a line of megabytes; the message quotes at most 100 characters of it.
    private static string Short(string text) => text.Length <= 100 ? text : $"{text[..100]}... ({text.Length} characters)";

    private static InvalidDataException Bad(string path, int line, string what) => new($"digits CSV '{path}' line {line}: {what}");
}
