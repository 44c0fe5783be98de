namespace Framework.Backends;

/// <summary>
/// The windows of a 2-D pooling over [N, C, H, W] into [N, C, OH, OW]. For a fixed window, output row
/// oh covers input rows <c>oh*SH - PH + kh*DH</c> for kh in [0, KH) (PyTorch's max/avg pooling); the
/// output size, including ceil mode, is computed by the caller. With <see cref="Adaptive"/>, row oh
/// covers [floor(oh*H/OH), ceil((oh+1)*H/OH)) instead (PyTorch's adaptive pooling) and KH..DW are unused.
/// </summary>
/// <param name="N">Batch size.</param>
/// <param name="C">Channels.</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="OH">Output height.</param>
/// <param name="OW">Output width.</param>
/// <param name="KH">Window height.</param>
/// <param name="KW">Window width.</param>
/// <param name="SH">Vertical stride.</param>
/// <param name="SW">Horizontal stride.</param>
/// <param name="PH">Implicit padding above and below (-inf for max, 0 for average).</param>
/// <param name="PW">Implicit padding left and right.</param>
/// <param name="DH">Vertical dilation (max pooling only; 1 otherwise).</param>
/// <param name="DW">Horizontal dilation.</param>
/// <param name="Adaptive">Use the adaptive start/end formula.</param>
/// <param name="CountIncludePad">Average pooling: divide by the window size clipped to the padded input, not to the input.</param>
/// <param name="DivisorOverride">Average pooling: divide by this instead when non-zero.</param>
public readonly record struct Pool2dGeometry(int N, int C, int H, int W, int OH, int OW, int KH, int KW,
    int SH, int SW, int PH, int PW, int DH, int DW, bool Adaptive = false, bool CountIncludePad = true, int DivisorOverride = 0);

public abstract partial class Backend
{
    /// <summary>
    /// Max pooling: y [N, C, OH, OW] is the maximum of each window of x (contiguous [N, C, H, W]); NaN
    /// wins, as in PyTorch. indices (int64, y's shape) receives the flat position h*W + w of the first
    /// maximum in its plane; backward scatters the gradient there with <see cref="ScatterAdd"/>.
    /// </summary>
    public abstract void MaxPool2d(Tensor x, Tensor y, Tensor indices, in Pool2dGeometry geometry);

    /// <summary>
    /// Average pooling (fixed or adaptive windows, see <see cref="Pool2dGeometry"/>) of x, contiguous
    /// [N, C, H, W], into y, contiguous [N, C, OH, OW].
    /// </summary>
    public abstract void AvgPool2d(Tensor x, Tensor y, in Pool2dGeometry geometry);

    /// <summary>Backward of <see cref="AvgPool2d"/>: overwrites dx [N, C, H, W] with each dy spread evenly (by the same divisor) over its window.</summary>
    public abstract void AvgPool2dBackward(Tensor dy, Tensor dx, in Pool2dGeometry geometry);
}
