using System.Text.Json;

namespace Framework.IO;

/// <summary>
/// Reads and writes the safetensors format (huggingface/safetensors), the checkpoint format this
/// framework shares with PyTorch: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// <c>{name: {"dtype": "F32"|"F64"|"I64", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>,
/// then the raw little-endian tensor data, offsets relative to the end of the header.
/// </summary>
/// <remarks>
/// <see cref="Save"/> writes to a temporary file in the target directory and renames it over the
/// target, so a crash leaves either the old file or the new one, never a torn one.
/// <see cref="Load"/> validates the whole header against the file size before it allocates or
/// reads any tensor, and reports what is wrong (<see cref="InvalidDataException"/>): truncated files,
/// oversized or malformed headers, unsupported dtypes, shapes that disagree with byte ranges, and
/// ranges that overlap, leave gaps or run past the data.
/// </remarks>
public static partial class Safetensors
{
    /// <summary>The largest header accepted (the reference implementation's limit): a bigger length is a corrupted or hostile file.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The header key that holds the string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    private static void CheckEndianness()
    {
        // The format is little-endian and tensors are copied byte for byte.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors IO needs a little-endian machine");
    }

    internal static string DTypeCode(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no safetensors code"),
    };

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device; views are made contiguous) and optional
    /// <paramref name="metadata"/> to <paramref name="path"/> atomically. Tensors are laid out by
    /// element size, then name, so every tensor's data is aligned to its element size.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        CheckEndianness();
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey) throw new ArgumentException($"safetensors tensor names must be non-empty and not \"{MetadataKey}\", got \"{name}\"");
            ArgumentNullException.ThrowIfNull(t, $"tensors[\"{name}\"]");
            if (t.IsDisposed) throw new ObjectDisposedException($"tensor \"{name}\"", "cannot save a disposed tensor");
        }
        var ordered = tensors.OrderByDescending(e => e.Value.DType.ElementSize()).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();
        byte[] header = BuildHeader(ordered, metadata);

        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> len = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var (_, t) in ordered) WriteData(fs, t);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in ordered)
            {
                long bytes = t.Numel * t.DType.ElementSize();
                w.WriteStartObject(name);
                w.WriteString("dtype", DTypeCode(t.DType));
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) to a multiple of 8 so the data starts 8-byte aligned.
        int padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    private static void WriteData(Stream fs, Tensor t)
    {
        long bytes = t.Numel * t.DType.ElementSize();
        if (bytes == 0) return;
        using var c = t.ContiguousOwned();
        if (bytes <= int.MaxValue)
        {
            var buffer = new byte[bytes];
            c.Backend.Download(c, buffer);
            fs.Write(buffer);
            return;
        }
        // Beyond 2 GiB a single managed buffer is impossible: go through the host copy in rows of dim 0.
        for (int i = 0; i < c.Size(0); i++)
        {
            using var row = c.Select(0, i);
            WriteData(fs, row);
        }
    }

    /// <summary>Reads every tensor of a validated file onto the CPU (see <see cref="LoadWithMetadata"/>).</summary>
    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).Tensors;

    /// <summary>
    /// Validates the whole file, then reads every tensor onto the CPU (in the current
    /// <see cref="TensorScope"/>, if any) together with the header's metadata. Throws
    /// <see cref="InvalidDataException"/> naming the problem when the file is malformed, before any
    /// tensor is created.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckEndianness();
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var header = ReadHeader(fs, path);
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in header.Entries)
            {
                var t = Tensor.Empty(e.Shape, e.DType, Device.Cpu);
                result[e.Name] = t;
                long bytes = e.End - e.Begin;
                if (bytes == 0) continue;
                fs.Seek(header.DataStart + e.Begin, SeekOrigin.Begin);
                ReadInto(fs, t, bytes, path, e.Name);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return (result, header.Metadata);
    }

    private static unsafe void ReadInto(FileStream fs, Tensor t, long bytes, string path, string name)
    {
        byte* dst = (byte*)Backends.Cpu.CpuBackend.RawPtr(t);
        for (long done = 0; done < bytes;)
        {
            int chunk = (int)Math.Min(bytes - done, 1 << 30);
            int n = fs.Read(new Span<byte>(dst + done, chunk));
            if (n == 0) throw new InvalidDataException($"safetensors file '{path}': tensor \"{Short(name)}\" ends early: the file was truncated while being read");
            done += n;
        }
    }
}
