namespace Framework.Cuda;

/// <summary>An opaque loaded module (<c>CUmodule</c>). Zero is never a valid module.</summary>
/// <param name="Handle">The driver's handle value.</param>
public readonly record struct CudaModule(nint Handle);

/// <summary>An opaque kernel handle (<c>CUfunction</c>) from <see cref="ICudaDriver.GetFunction"/>.</summary>
/// <param name="Handle">The driver's handle value.</param>
public readonly record struct CudaFunction(nint Handle);

/// <summary>A stream (<c>CUstream</c>); <see cref="Default"/> (zero) is the legacy default stream.</summary>
/// <param name="Handle">The driver's handle value.</param>
public readonly record struct CudaStream(nint Handle)
{
    /// <summary>The default stream.</summary>
    public static CudaStream Default => default;
}

/// <summary>Operation applied to a cuBLAS matrix operand; values are <c>cublasOperation_t</c>.</summary>
public enum BlasOperation
{
    /// <summary>CUBLAS_OP_N: use the matrix as stored.</summary>
    None = 0,
    /// <summary>CUBLAS_OP_T: use the transpose.</summary>
    Transpose = 1,
}
