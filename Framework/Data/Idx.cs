using System.Buffers.Binary;

namespace Framework.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed): two zero bytes, an
/// element-type byte (0x08 = unsigned byte), the number of dimensions, each dimension as a
/// big-endian 32-bit integer, then the data in row-major order.
/// </summary>
public static class Idx
{
    /// <summary>Reads an unsigned-byte IDX file: its dimensions and data. Malformed files give an <see cref="InvalidDataException"/> naming the problem.</summary>
    public static (int[] Dims, byte[] Data) Read(string path)
    {
        InvalidDataException Bad(string what) => new($"IDX file '{path}': {what}");
        try
        {
            using var s = DataFiles.OpenMaybeGzip(path);
            Span<byte> magic = stackalloc byte[4];
            if (s.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4) throw Bad("shorter than the 4-byte magic number: truncated or empty");
            if (magic[0] != 0 || magic[1] != 0) throw Bad($"magic number starts with 0x{magic[0]:X2} 0x{magic[1]:X2}, expected two zero bytes: not an IDX file");
            if (magic[2] != 0x08)
            {
                string type = magic[2] switch { 0x09 => "signed byte", 0x0B => "int16", 0x0C => "int32", 0x0D => "float32", 0x0E => "float64", _ => "unknown" };
                throw Bad($"element type 0x{magic[2]:X2} ({type}) is not supported; this reader handles unsigned bytes (0x08), as MNIST and Fashion-MNIST use");
            }
            int rank = magic[3];
            if (rank == 0) throw Bad("has 0 dimensions");
            var dimBytes = new byte[4 * rank];
            if (s.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false) < dimBytes.Length) throw Bad($"truncated inside its {rank} dimension sizes");
            var dims = new int[rank];
            long total = 1;
            for (int i = 0; i < rank; i++)
            {
                uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.AsSpan(4 * i));
                if (d > int.MaxValue) throw Bad($"dimension {i} has size {d}, too large");
                dims[i] = (int)d;
                total *= d;
                if (total > Array.MaxLength) throw Bad($"dimensions [{string.Join(", ", dims[..(i + 1)])}] hold more than {Array.MaxLength} elements");
            }
            // Grown as the data arrives instead of allocated up front: a 16-byte file that claims
            // 2 GB of pixels must fail as truncated, not allocate 2 GB first.
            var data = new byte[Math.Min(total, 1 << 20)];
            int got = 0;
            while (got < total)
            {
                if (got == data.Length) Array.Resize(ref data, (int)Math.Min(total, 2L * data.Length));
                int n = s.Read(data, got, data.Length - got);
                if (n == 0) break;
                got += n;
            }
            if (got < total) throw Bad($"dimensions [{string.Join(", ", dims)}] need {total} data bytes, but only {got} follow: truncated file");
            if (s.ReadByte() != -1) throw Bad($"has bytes after the {total} data bytes its dimensions [{string.Join(", ", dims)}] describe");
            return (dims, data);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("IDX file", StringComparison.Ordinal))
        {
            throw Bad($"the gzip stream is corrupted ({e.Message})");
        }
    }

    /// <summary>Reads an images file [N, H, W] and a labels file [N] into <see cref="LabeledImages"/> with pixel values 0..255.</summary>
    public static LabeledImages LoadImages(string imagesPath, string labelsPath)
    {
        var (idims, pixels) = Read(imagesPath);
        var (ldims, labels) = Read(labelsPath);
        if (idims.Length != 3) throw new InvalidDataException($"IDX images file '{imagesPath}' has {idims.Length} dimensions [{string.Join(", ", idims)}], expected 3 (count, height, width)");
        if (ldims.Length != 1) throw new InvalidDataException($"IDX labels file '{labelsPath}' has {ldims.Length} dimensions [{string.Join(", ", ldims)}], expected 1 (count)");
        if (idims[0] != ldims[0]) throw new InvalidDataException($"IDX files disagree: '{imagesPath}' holds {idims[0]} images, '{labelsPath}' {ldims[0]} labels");
        if (idims[1] == 0 || idims[2] == 0) throw new InvalidDataException($"IDX images file '{imagesPath}' has empty images {idims[1]}x{idims[2]}");
        var px = new float[pixels.Length];
        for (int i = 0; i < px.Length; i++) px[i] = pixels[i];
        var lb = new long[labels.Length];
        for (int i = 0; i < lb.Length; i++) lb[i] = labels[i];
        return new LabeledImages(px, lb, idims[1], idims[2], 255);
    }

    /// <summary>
    /// Finds and reads the MNIST-named pair in <paramref name="directory"/>: <c>train-images-idx3-ubyte</c>
    /// and <c>train-labels-idx1-ubyte</c> (or <c>t10k-*</c> when <paramref name="train"/> is false), each
    /// optionally with <c>.gz</c>.
    /// </summary>
    public static LabeledImages LoadDirectory(string directory, bool train = true)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"IDX data directory '{directory}' does not exist");
        string prefix = train ? "train" : "t10k";
        string Find(string stem)
        {
            foreach (var name in new[] { stem, stem + ".gz" })
            {
                var p = Path.Combine(directory, name);
                if (File.Exists(p)) return p;
            }
            throw new FileNotFoundException($"IDX data directory '{directory}' has no {stem} or {stem}.gz");
        }
        return LoadImages(Find($"{prefix}-images-idx3-ubyte"), Find($"{prefix}-labels-idx1-ubyte"));
    }
}
