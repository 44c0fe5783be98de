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
            if (b0 == 0x1F && b1 == 0x8B) return new BufferedStream(new GZipStream(fs, CompressionMode.Decompress), 1 << 16);
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }
}
