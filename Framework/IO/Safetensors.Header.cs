using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Framework.IO;

// Header validation: everything about the file is checked here, against the real file size, before
// Load allocates a single tensor. Each failure says what was expected and what the file holds.
public static partial class Safetensors
{
    internal sealed record Entry(string Name, DType DType, int[] Shape, long Begin, long End);

    internal sealed record Header(List<Entry> Entries, Dictionary<string, string> Metadata, long DataStart);

    /// <summary>The most dimensions a tensor in a file may have: a hostile header of millions of zero-sized dimensions must not cost gigabytes.</summary>
    public const int MaxRank = 64;

    /// <summary>Longest stretch of file text quoted in an error message; a 90 MB name must not become a 90 MB message.</summary>
    internal const int MaxQuoted = 100;

    /// <summary><paramref name="text"/> cut to <see cref="MaxQuoted"/> characters, saying how long it was.</summary>
    internal static string Short(string text) =>
        text.Length <= MaxQuoted ? text : $"{text[..MaxQuoted]}... ({text.Length} characters)";

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

        // The reference implementation rejects a header that does not start with '{'.
        if (json[0] != (byte)'{') throw Bad($"the header starts with byte 0x{json[0]:X2}, not '{{': corrupted file");
        // Parsed straight from the bytes (no UTF-16 copy of a header that may be 100 MB); the
        // document refers to the buffer instead of copying it.
        if (!Utf8.IsValid(json)) throw Bad("the header is not valid UTF-8: corrupted file");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.AsMemory());
        }
        catch (JsonException e)
        {
            throw Bad($"the header is not valid JSON ({Short(e.Message)}): corrupted file");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad($"the header is a JSON {doc.RootElement.ValueKind}, expected an object");
            var names = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(prop.Name)) throw Bad($"the header names \"{Short(prop.Name)}\" twice");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad($"\"{MetadataKey}\" must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad($"metadata \"{Short(m.Name)}\" must be a string, got {m.Value.ValueKind}");
                        // JSON allows a repeated key (the last one wins); here it is ambiguous, so an error.
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad($"metadata \"{Short(m.Name)}\" appears twice");
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
        string name = Short(prop.Name); // for messages; the entry keeps the full name
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw bad($"tensor \"{name}\": expected an object with dtype, shape and data_offsets, got {v.ValueKind}");
        var seen = new HashSet<string>(3, StringComparer.Ordinal);
        foreach (var f in v.EnumerateObject())
        {
            if (f.Name is not ("dtype" or "shape" or "data_offsets")) throw bad($"tensor \"{name}\": unexpected field \"{Short(f.Name)}\"");
            // JSON lets the last of repeated fields win; a tensor described twice is ambiguous, so an error.
            if (!seen.Add(f.Name)) throw bad($"tensor \"{name}\": field \"{f.Name}\" appears twice");
        }
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw bad($"tensor \"{name}\": missing string field \"dtype\"");
        string code = dt.GetString()!;
        DType dtype = code switch
        {
            "F32" => DType.Float32,
            "F64" => DType.Float64,
            "I64" => DType.Int64,
            _ when s_otherDTypes.Contains(code) => throw bad($"tensor \"{name}\" has dtype {code}, which this framework does not support (it reads F32, F64 and I64)"),
            _ => throw bad($"tensor \"{name}\" has unknown dtype \"{Short(code)}\""),
        };
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw bad($"tensor \"{name}\": missing array field \"shape\"");
        if (sh.GetArrayLength() > MaxRank) throw bad($"tensor \"{name}\": shape has {sh.GetArrayLength()} dimensions, more than the {MaxRank} this reader accepts");
        var shape = new int[sh.GetArrayLength()];
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw bad($"tensor \"{name}\": shape entries must be integers in [0, {int.MaxValue}], got {Short(d.GetRawText())}");
            shape[k++] = dim;
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw bad($"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
        var o = off.EnumerateArray().ToArray();
        if (!o[0].TryGetInt64(out long begin) || !o[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw bad($"tensor \"{name}\": data_offsets {Short(off.GetRawText())} must be integers with 0 <= begin <= end");
        long expected;
        try
        {
            // Checked: a hostile shape must not wrap around to a small byte count. The product of the
            // non-zero sizes is checked too: an empty tensor's strides are computed from it.
            long numel = 1, strided = 1;
            foreach (int dim in shape)
            {
                numel = checked(numel * dim);
                strided = checked(strided * Math.Max(dim, 1));
            }
            expected = checked(numel * dtype.ElementSize());
        }
        catch (OverflowException) { throw bad($"tensor \"{name}\": shape {Short(Shapes.Format(shape))} is too large"); }
        if (end - begin != expected)
            throw bad($"tensor \"{name}\": {code} shape {Short(Shapes.Format(shape))} needs {expected} bytes, but data_offsets [{begin}, {end}] hold {end - begin}");
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
                throw bad($"tensors \"{Short(prev!.Name)}\" [{prev.Begin}, {prev.End}) and \"{Short(e.Name)}\" [{e.Begin}, {e.End}) overlap");
            if (e.Begin > at)
                throw bad($"{e.Begin - at} unaccounted bytes at data offset {at} before tensor \"{Short(e.Name)}\" (offsets must tile the data)");
            if (e.End > dataLength)
                throw bad($"tensor \"{Short(e.Name)}\" ends at data offset {e.End}, past the end of the data ({dataLength} bytes): truncated file");
            at = e.End;
            prev = e;
        }
        if (at != dataLength) throw bad($"{dataLength - at} bytes after the last tensor's data (the offsets end at {at}, the data holds {dataLength})");
    }
}
