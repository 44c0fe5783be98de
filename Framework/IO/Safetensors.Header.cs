using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Framework.IO;

// Header validation: everything about the file is checked here, against the real file size, before
// Load allocates a single tensor. Each failure says what was expected and what the file holds.
public static partial class Safetensors
{
    internal sealed record Entry(string Name, DType DType, int[] Shape, long Begin, long End);

    internal sealed record Header(List<Entry> Entries, Dictionary<string, string> Metadata, long DataStart);

    private static readonly HashSet<string> s_otherDTypes =
        ["BOOL", "U8", "I8", "U16", "I16", "F16", "BF16", "U32", "I32", "U64", "F8_E4M3", "F8_E5M2", "F4", "F6_E2M3", "F6_E3M2", "E8M0", "C64"];

    internal static Header ReadHeader(FileStream fs, string path)
    {
        InvalidDataException Bad(string what) => new($"safetensors file '{path}': {what}");
        long fileLength = fs.Length;
        if (fileLength < 8) throw Bad($"the file is {fileLength} bytes, shorter than the 8-byte header length: truncated or not a safetensors file");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n > MaxHeaderBytes) throw Bad($"header length {n} exceeds the {MaxHeaderBytes}-byte limit: oversized or corrupted header");
        if (8 + (long)n > fileLength) throw Bad($"header length {n} runs past the end of the file ({fileLength} bytes): truncated file");
        if (n < 2) throw Bad($"header length {n} is too short for a JSON object");
        var json = new byte[n];
        fs.ReadExactly(json);
        long dataStart = 8 + (long)n, dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            // The reference implementation rejects a header that does not start with '{'.
            if (json[0] != (byte)'{') throw new JsonException($"the header starts with byte 0x{json[0]:X2}, not '{{'");
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(json);
            doc = JsonDocument.Parse(text);
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            throw Bad($"the header is not valid UTF-8 JSON ({e.Message}): corrupted file");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad($"the header is a JSON {doc.RootElement.ValueKind}, expected an object");
            var names = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(prop.Name)) throw Bad($"the header names \"{prop.Name}\" twice");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad($"\"{MetadataKey}\" must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad($"metadata \"{m.Name}\" must be a string, got {m.Value.ValueKind}");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(prop, Bad));
            }
            CheckLayout(entries, dataLength, Bad);
            return new Header(entries, metadata, dataStart);
        }
    }

    private static Entry ParseEntry(JsonProperty prop, Func<string, InvalidDataException> bad)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw bad($"tensor \"{name}\": expected an object with dtype, shape and data_offsets, got {v.ValueKind}");
        foreach (var f in v.EnumerateObject())
            if (f.Name is not ("dtype" or "shape" or "data_offsets")) throw bad($"tensor \"{name}\": unexpected field \"{f.Name}\"");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw bad($"tensor \"{name}\": missing string field \"dtype\"");
        string code = dt.GetString()!;
        DType dtype = code switch
        {
            "F32" => DType.Float32,
            "F64" => DType.Float64,
            "I64" => DType.Int64,
            _ when s_otherDTypes.Contains(code) => throw bad($"tensor \"{name}\" has dtype {code}, which this framework does not support (it reads F32, F64 and I64)"),
            _ => throw bad($"tensor \"{name}\" has unknown dtype \"{code}\""),
        };
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw bad($"tensor \"{name}\": missing array field \"shape\"");
        var shape = new int[sh.GetArrayLength()];
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw bad($"tensor \"{name}\": shape entries must be integers in [0, {int.MaxValue}], got {d.GetRawText()}");
            shape[k++] = dim;
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw bad($"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
        var o = off.EnumerateArray().ToArray();
        if (!o[0].TryGetInt64(out long begin) || !o[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw bad($"tensor \"{name}\": data_offsets {off.GetRawText()} must be integers with 0 <= begin <= end");
        long expected;
        try
        {
            // Checked: a hostile shape must not wrap around to a small byte count.
            long numel = 1;
            foreach (int dim in shape) numel = checked(numel * dim);
            expected = checked(numel * dtype.ElementSize());
        }
        catch (OverflowException) { throw bad($"tensor \"{name}\": shape {Shapes.Format(shape)} is too large"); }
        if (end - begin != expected)
            throw bad($"tensor \"{name}\": {code} shape {Shapes.Format(shape)} needs {expected} bytes, but data_offsets [{begin}, {end}] hold {end - begin}");
        return new Entry(name, dtype, shape, begin, end);
    }

    /// <summary>The byte ranges must tile the data exactly: in order from 0, no overlaps, no gaps, ending at the end of the file.</summary>
    private static void CheckLayout(List<Entry> entries, long dataLength, Func<string, InvalidDataException> bad)
    {
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long at = 0;
        Entry? prev = null;
        foreach (var e in sorted)
        {
            if (e.Begin < at)
                throw bad($"tensors \"{prev!.Name}\" [{prev.Begin}, {prev.End}) and \"{e.Name}\" [{e.Begin}, {e.End}) overlap");
            if (e.Begin > at)
                throw bad($"{e.Begin - at} unaccounted bytes at data offset {at} before tensor \"{e.Name}\" (offsets must tile the data)");
            if (e.End > dataLength)
                throw bad($"tensor \"{e.Name}\" ends at data offset {e.End}, past the end of the data ({dataLength} bytes): truncated file");
            at = e.End;
            prev = e;
        }
        if (at != dataLength) throw bad($"{dataLength - at} bytes after the last tensor's data (the offsets end at {at}, the data holds {dataLength})");
    }
}
