namespace Framework;

/// <summary>Element type of a tensor. Float32 and Float64 are differentiable; Int64 holds labels and indices.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (PyTorch's <c>torch.float32</c>).</summary>
    Float32,
    /// <summary>64-bit IEEE float (PyTorch's <c>torch.float64</c>), used by gradient checks.</summary>
    Float64,
    /// <summary>64-bit signed integer (PyTorch's <c>torch.int64</c>), for labels and indices; never requires grad.</summary>
    Int64,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Int64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True for the floating-point types, the only ones that can require grad.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>PyTorch's spelling (<c>float32</c>, <c>float64</c>, <c>int64</c>), used in messages and ToString.</summary>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int64 => "int64",
        _ => dtype.ToString(),
    };
}
