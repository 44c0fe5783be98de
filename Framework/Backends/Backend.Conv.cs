namespace Framework.Backends;

/// <summary>
/// The shape arithmetic of one 2-D convolution, computed once by the tensor-level function and handed
/// to the backend. Input [N, C, H, W], weight [OutC, C / Groups, KH, KW], output [N, OutC, OH, OW] with
/// PyTorch's <c>OH = (H + 2 PH - DH (KH - 1) - 1) / SH + 1</c> (and the same for the width).
/// </summary>
/// <param name="N">Batch size.</param>
/// <param name="C">Input channels.</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="OutC">Output channels.</param>
/// <param name="KH">Kernel height.</param>
/// <param name="KW">Kernel width.</param>
/// <param name="SH">Vertical stride.</param>
/// <param name="SW">Horizontal stride.</param>
/// <param name="PH">Zero padding added above and below.</param>
/// <param name="PW">Zero padding added left and right.</param>
/// <param name="DH">Vertical dilation (spacing between kernel taps).</param>
/// <param name="DW">Horizontal dilation.</param>
/// <param name="Groups">Channel groups G: input channels [g C/G, (g+1) C/G) feed only output channels [g OutC/G, (g+1) OutC/G).</param>
public readonly record struct Conv2dGeometry(int N, int C, int H, int W, int OutC, int KH, int KW,
    int SH, int SW, int PH, int PW, int DH, int DW, int Groups)
{
    // In long: the terms overflow an int for large padding or dilation; F.Conv2d checks that the
    // padded input and the results fit in an int before it builds a geometry.

    /// <summary>Output height.</summary>
    public int OH => (int)(((long)H + 2L * PH - (long)DH * (KH - 1) - 1) / SH + 1);

    /// <summary>Output width.</summary>
    public int OW => (int)(((long)W + 2L * PW - (long)DW * (KW - 1) - 1) / SW + 1);

    /// <summary>Rows of one sample's column matrix: C * KH * KW.</summary>
    public int ColRows => C * KH * KW;

    /// <summary>Columns of one sample's column matrix: OH * OW.</summary>
    public int ColCols => OH * OW;

    /// <summary>True when im2col would be the identity (1x1 kernel, stride 1, no padding): the input is its own column matrix.</summary>
    public bool IsPointwise => KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
}

public abstract partial class Backend
{
    // ---- convolution. A GPU backend can build Conv2d/Conv2dBackward from Im2Col, Col2Im and its GEMM
    // (per sample, per group: y_g = W_g cols_g; dW_g += dy_g cols_g^T; dcols_g = W_g^T dy_g). The CPU
    // backend fuses them per sample so a column matrix stays in cache and samples run in parallel. ----

    /// <summary>
    /// Unfolds x, contiguous [n, C, H, W] (n may differ from <c>geometry.N</c>), into cols, contiguous
    /// [n, C*KH*KW, OH*OW]: row (c, kh, kw), column (oh, ow) holds
    /// x[c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW], or 0 where that falls in the padding.
    /// </summary>
    public abstract void Im2Col(Tensor x, Tensor cols, in Conv2dGeometry geometry);

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: overwrites x, contiguous [n, C, H, W], with the sum of every
    /// entry of cols, contiguous [n, C*KH*KW, OH*OW], that Im2Col would have read from that position.
    /// </summary>
    public abstract void Col2Im(Tensor cols, Tensor x, in Conv2dGeometry geometry);

    /// <summary>
    /// y = conv2d(x, weight) + bias. x contiguous [N, C, H, W], weight contiguous [OutC, C/Groups, KH, KW],
    /// bias null or contiguous [OutC], y contiguous [N, OutC, OH, OW] (overwritten).
    /// </summary>
    public abstract void Conv2d(Tensor x, Tensor weight, Tensor? bias, Tensor y, in Conv2dGeometry geometry);

    /// <summary>
    /// Backward of <see cref="Conv2d"/> from dy, contiguous [N, OutC, OH, OW]. Each non-null output is
    /// overwritten: dx [N, C, H, W] (col2im of W^T dy), dweight like weight (sum over the batch of
    /// dy cols^T), dbias [OutC] (dy summed over N, OH, OW). All contiguous.
    /// </summary>
    public abstract void Conv2dBackward(Tensor x, Tensor weight, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias, in Conv2dGeometry geometry);
}
