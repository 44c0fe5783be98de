using System.Buffers.Binary;

namespace Framework.Cuda;

/// <summary>
/// Packs kernel arguments the way <c>cuLaunchKernel</c>'s parameter buffer expects them: in
/// <c>.param</c> order, each at its natural alignment (a <c>.u64</c> on an 8-byte boundary, a
/// <c>.f32</c> on 4), little-endian, with padding bytes zero.
/// </summary>
public sealed class KernelParameterBuffer
{
    private byte[] _bytes = new byte[64];
    private int _length;

    /// <summary>The packed bytes so far.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, _length);

    /// <summary>Appends a device pointer or other 64-bit unsigned value (<c>.u64</c>).</summary>
    /// <param name="value">The value.</param>
    /// <returns>This buffer, for chaining.</returns>
    public KernelParameterBuffer Add(ulong value) { BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value); return this; }

    /// <summary>Appends a <c>.s64</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>This buffer, for chaining.</returns>
    public KernelParameterBuffer Add(long value) { BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value); return this; }

    /// <summary>Appends a <c>.u32</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>This buffer, for chaining.</returns>
    public KernelParameterBuffer Add(uint value) { BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), value); return this; }

    /// <summary>Appends a <c>.s32</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>This buffer, for chaining.</returns>
    public KernelParameterBuffer Add(int value) { BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), value); return this; }

    /// <summary>Appends a <c>.f32</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>This buffer, for chaining.</returns>
    public KernelParameterBuffer Add(float value) { BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value); return this; }

    /// <summary>Appends a <c>.f64</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>This buffer, for chaining.</returns>
    public KernelParameterBuffer Add(double value) { BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value); return this; }

    private Span<byte> Reserve(int size)
    {
        int offset = (_length + size - 1) / size * size;
        if (offset + size > _bytes.Length) Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, offset + size));
        _bytes.AsSpan(_length, offset - _length).Clear();
        _length = offset + size;
        return _bytes.AsSpan(offset, size);
    }
}
