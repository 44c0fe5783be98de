namespace Framework.Backends;

public abstract partial class Backend
{
    // ---- indexing along one dim. x, index, src and dst are contiguous with the same rank; index is
    // int64 and its size is at most the data's in every dim but dim. Index values are validated by the
    // caller; a backend may assume 0 <= index < size(dim). ----

    /// <summary>
    /// PyTorch's gather: y[i..., j, k...] = x[i..., index[i..., j, k...], k...] along <paramref name="dim"/>;
    /// y has index's shape.
    /// </summary>
    public abstract void Gather(Tensor x, int dim, Tensor index, Tensor y);

    /// <summary>
    /// PyTorch's scatter_add_, in place: dst[i..., index[i..., j, k...], k...] += src[i..., j, k...];
    /// src has index's shape. Repeated indices accumulate (the backward of <see cref="Gather"/>).
    /// </summary>
    public abstract void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src);
}
