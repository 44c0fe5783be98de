using System.Buffers.Binary;
using System.IO.Compression;

namespace Framework.Data;

/// <summary>Opening data files that may be gzip-compressed: detected by the gzip magic bytes, not the file name.</summary>
internal static class DataFiles
{
    public static Stream OpenMaybeGzip(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            int b0 = fs.ReadByte(), b1 = fs.ReadByte();
            fs.Position = 0;
            if (b0 == 0x1F && b1 == 0x8B) return new BufferedStream(new VerifiedGzipStream(fs), 1 << 16);
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A gzip decompressor that checks the file to its end: when the data runs out, the CRC-32 and the
/// length of what was decompressed must match the 8-byte trailer that ends the file (RFC 1952).
/// </summary>
/// <remarks>
/// <see cref="GZipStream"/> alone returns a clean end of stream for some truncated files (a file cut
/// inside the trailer, or just after the last deflate block), so a cut-off data set would load a
/// prefix without a word. Only single-member files (what gzip and Python's gzip module write) are
/// supported: in a file of concatenated members the trailer covers only the last member, so it is
/// reported as corrupted.
/// </remarks>
internal sealed class VerifiedGzipStream : Stream
{
    private readonly FileStream _file;
    private readonly GZipStream _gzip;
    private readonly uint _expectedCrc, _expectedSize;
    private uint _crc = 0xFFFFFFFF;
    private long _length;
    private bool _verified;

    public VerifiedGzipStream(FileStream file)
    {
        _file = file;
        // The smallest gzip file is a 10-byte header, an empty deflate block and the 8-byte trailer.
        if (file.Length < 18) throw new InvalidDataException($"the gzip file is {file.Length} bytes, shorter than the smallest gzip file (18 bytes): truncated");
        Span<byte> trailer = stackalloc byte[8];
        file.Seek(-8, SeekOrigin.End);
        file.ReadExactly(trailer);
        file.Position = 0;
        _expectedCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        _expectedSize = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        _gzip = new GZipStream(file, CompressionMode.Decompress);
    }

    public override int Read(Span<byte> buffer)
    {
        int n = _gzip.Read(buffer);
        if (n > 0)
        {
            _crc = Crc32.Update(_crc, buffer[..n]);
            _length += n;
        }
        else if (buffer.Length > 0 && !_verified)
        {
            _verified = true;
            uint crc = ~_crc, size = unchecked((uint)_length);
            if (crc != _expectedCrc || size != _expectedSize)
                throw new InvalidDataException(
                    $"the data ends after {_length} bytes, but the gzip trailer says {_expectedSize} bytes (mod 2^32) with CRC-32 0x{_expectedCrc:X8} (the data's is 0x{crc:X8}): truncated or corrupted file");
        }
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _length; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip.Dispose();
            _file.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as gzip's trailer uses; the caller starts from 0xFFFFFFFF and inverts at the end.</summary>
internal static class Crc32
{
    private static readonly uint[] s_table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = s_table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
