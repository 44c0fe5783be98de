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
        if (!Utf8.IsValid(json)) throw Bad("the header is not valid UTF-8 JSON (invalid UTF-8 bytes): corrupted file");
        // A streaming reader over the bytes, not a JsonDocument: a document of a 90 MB header of tiny
        // tokens costs 12 bytes per token plus growth copies (1.9 GB measured), and it would build the
        // whole thing before the first check. Here memory is the header plus the names, and the first
        // error stops the parse.
        try
        {
            var r = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            r.Read(); // the '{' checked above
            var names = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>();
            while (Next(ref r) != JsonTokenType.EndObject)
            {
                string key = r.GetString()!; // a property name: the reader has checked the object's grammar
                if (!names.Add(key)) throw Bad($"the header names \"{Short(key)}\" twice");
                Next(ref r);
                if (key == MetadataKey) ReadMetadata(ref r, metadata, Bad);
                else entries.Add(ParseEntry(ref r, key, Bad));
            }
            if (r.Read()) throw Bad($"the header has {Kind(r.TokenType)} after its JSON object: corrupted file");
            CheckLayout(entries, dataLength, Bad);
            return new Header(entries, metadata, dataStart);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: the reader's GetString on an escaped lone surrogate.
            throw Bad($"the header is not valid UTF-8 JSON ({Short(e.Message)}): corrupted file");
        }
    }

    private static JsonTokenType Next(ref Utf8JsonReader r)
    {
        if (!r.Read()) throw new JsonException("the header ends inside its JSON object");
        return r.TokenType;
    }

    /// <summary>JsonValueKind's words for a token, as the messages used before the reader streamed.</summary>
    private static string Kind(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "Object",
        JsonTokenType.StartArray => "Array",
        JsonTokenType.String => "String",
        JsonTokenType.Number => "Number",
        JsonTokenType.True => "True",
        JsonTokenType.False => "False",
        JsonTokenType.Null => "Null",
        _ => t.ToString(),
    };

    /// <summary>The current token as text for a message: a scalar's own text (cut short), a container's kind.</summary>
    private static string Text(ref Utf8JsonReader r) => r.TokenType is JsonTokenType.Number or JsonTokenType.String
        ? Short(System.Text.Encoding.UTF8.GetString(r.ValueSpan[..Math.Min(r.ValueSpan.Length, 4 * MaxQuoted)]))
        : Kind(r.TokenType);

    private static void ReadMetadata(ref Utf8JsonReader r, Dictionary<string, string> metadata, Func<string, InvalidDataException> bad)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw bad($"\"{MetadataKey}\" must be an object of strings");
        while (Next(ref r) != JsonTokenType.EndObject)
        {
            string name = r.GetString()!;
            if (Next(ref r) != JsonTokenType.String) throw bad($"metadata \"{Short(name)}\" must be a string, got {Kind(r.TokenType)}");
            // JSON allows a repeated key (the last one wins); here it is ambiguous, so an error.
            if (!metadata.TryAdd(name, r.GetString()!)) throw bad($"metadata \"{Short(name)}\" appears twice");
        }
    }

    private static Entry ParseEntry(ref Utf8JsonReader r, string key, Func<string, InvalidDataException> bad)
    {
        string name = Short(key); // for messages; the entry keeps the full name
        if (r.TokenType != JsonTokenType.StartObject) throw bad($"tensor \"{name}\": expected an object with dtype, shape and data_offsets, got {Kind(r.TokenType)}");
        string? code = null;
        List<int>? shape = null;
        long[]? offsets = null;
        string offsetsText = "";
        bool offsetsMalformed = false;
        while (Next(ref r) != JsonTokenType.EndObject)
        {
            // JSON lets the last of repeated fields win; a tensor described twice is ambiguous, so an error.
            if (r.ValueTextEquals("dtype"u8))
            {
                if (code is not null) throw bad($"tensor \"{name}\": field \"dtype\" appears twice");
                if (Next(ref r) != JsonTokenType.String) throw bad($"tensor \"{name}\": missing string field \"dtype\"");
                code = r.GetString()!;
            }
            else if (r.ValueTextEquals("shape"u8))
            {
                if (shape is not null) throw bad($"tensor \"{name}\": field \"shape\" appears twice");
                if (Next(ref r) != JsonTokenType.StartArray) throw bad($"tensor \"{name}\": missing array field \"shape\"");
                shape = [];
                while (Next(ref r) != JsonTokenType.EndArray)
                {
                    if (r.TokenType != JsonTokenType.Number || !r.TryGetInt32(out int dim) || dim < 0)
                        throw bad($"tensor \"{name}\": shape entries must be integers in [0, {int.MaxValue}], got {Text(ref r)}");
                    if (shape.Count == MaxRank) throw bad($"tensor \"{name}\": shape has more than the {MaxRank} dimensions this reader accepts");
                    shape.Add(dim);
                }
            }
            else if (r.ValueTextEquals("data_offsets"u8))
            {
                if (offsets is not null) throw bad($"tensor \"{name}\": field \"data_offsets\" appears twice");
                if (Next(ref r) != JsonTokenType.StartArray) throw bad($"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
                var found = new List<long>(2);
                var texts = new List<string>(2);
                while (Next(ref r) != JsonTokenType.EndArray)
                {
                    if (found.Count == 2) throw bad($"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
                    texts.Add(Text(ref r));
                    if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out long v)) found.Add(v);
                    else if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        throw bad($"tensor \"{name}\": data_offsets must be integers with 0 <= begin <= end, got {Kind(r.TokenType)}");
                    else { offsetsMalformed = true; found.Add(-1); }
                }
                if (found.Count != 2) throw bad($"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
                offsets = [.. found];
                offsetsText = $"[{texts[0]}, {texts[1]}]";
            }
            else throw bad($"tensor \"{name}\": unexpected field \"{Short(r.GetString()!)}\"");
        }
        if (code is null) throw bad($"tensor \"{name}\": missing string field \"dtype\"");
        DType dtype = code switch
        {
            "F32" => DType.Float32,
            "F64" => DType.Float64,
            "I64" => DType.Int64,
            _ when s_otherDTypes.Contains(code) => throw bad($"tensor \"{name}\" has dtype {code}, which this framework does not support (it reads F32, F64 and I64)"),
            _ => throw bad($"tensor \"{name}\" has unknown dtype \"{Short(code)}\""),
        };
        if (shape is null) throw bad($"tensor \"{name}\": missing array field \"shape\"");
        if (offsets is null) throw bad($"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
        long begin = offsets[0], end = offsets[1];
        if (offsetsMalformed || begin < 0 || end < begin)
            throw bad($"tensor \"{name}\": data_offsets {offsetsText} must be integers with 0 <= begin <= end");
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
        catch (OverflowException) { throw bad($"tensor \"{name}\": shape {Short(Shapes.Format(shape.ToArray()))} is too large"); }
        if (end - begin != expected)
            throw bad($"tensor \"{name}\": {code} shape {Short(Shapes.Format(shape.ToArray()))} needs {expected} bytes, but data_offsets [{begin}, {end}] hold {end - begin}");
        return new Entry(key, dtype, shape.ToArray(), begin, end);
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
