namespace Framework.Cuda;

/// <summary>A grid or block shape, as in CUDA's <c>dim3</c>. Unspecified dimensions are 1.</summary>
/// <param name="X">Extent along x.</param>
/// <param name="Y">Extent along y.</param>
/// <param name="Z">Extent along z.</param>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    /// <summary>The number of elements, X * Y * Z, in 64 bits so it cannot overflow.</summary>
    public ulong Volume => (ulong)X * Y * Z;

    /// <summary>Lets a plain count stand for a one-dimensional shape.</summary>
    /// <param name="x">Extent along x.</param>
    public static implicit operator Dim3(uint x) => new(x);

    /// <inheritdoc />
    public override string ToString() => $"({X}, {Y}, {Z})";
}
