namespace Framework.Backends;

/// <summary>Elementwise ops of one input. <c>a</c> and <c>b</c> are the scalar parameters some take.</summary>
public enum UnaryOp
{
    /// <summary>-x</summary>
    Neg,
    /// <summary>e^x</summary>
    Exp,
    /// <summary>ln x</summary>
    Log,
    /// <summary>sqrt x</summary>
    Sqrt,
    /// <summary>1 / sqrt x</summary>
    Rsqrt,
    /// <summary>|x|</summary>
    Abs,
    /// <summary>max(x, 0), NaN propagates</summary>
    Relu,
    /// <summary>1 / (1 + e^-x)</summary>
    Sigmoid,
    /// <summary>tanh x</summary>
    Tanh,
    /// <summary>x^a</summary>
    Pow,
    /// <summary>min(max(x, a), b)</summary>
    Clamp,
    /// <summary>x + a</summary>
    AddScalar,
    /// <summary>x * a</summary>
    MulScalar,
    /// <summary>a - x</summary>
    RSubScalar,
    /// <summary>a / x</summary>
    RDivScalar,
    /// <summary>x where x &gt;= 0, else a * x (leaky relu with negative slope a)</summary>
    LeakyRelu,
}

/// <summary>Elementwise ops of two inputs already broadcast to the output's shape.</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a - b</summary>
    Sub,
    /// <summary>a * b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
    /// <summary>max(a, b), NaN propagates</summary>
    Maximum,
    /// <summary>min(a, b), NaN propagates</summary>
    Minimum,
    /// <summary>a == b as 1/0</summary>
    Eq,
    /// <summary>a != b as 1/0</summary>
    Ne,
    /// <summary>a &lt; b as 1/0</summary>
    Lt,
    /// <summary>a &lt;= b as 1/0</summary>
    Le,
    /// <summary>a &gt; b as 1/0</summary>
    Gt,
    /// <summary>a &gt;= b as 1/0</summary>
    Ge,
    /// <summary>Backward of relu: a = grad, b = x; a where x &gt; 0 else 0.</summary>
    ReluBackward,
    /// <summary>Backward of leaky relu with slope p: a = grad, b = x.</summary>
    LeakyReluBackward,
    /// <summary>Backward of sigmoid: a = grad, b = y; a * y * (1 - y).</summary>
    SigmoidBackward,
    /// <summary>Backward of tanh: a = grad, b = y; a * (1 - y^2).</summary>
    TanhBackward,
    /// <summary>Backward of abs: a = grad, b = x; a * sign(x).</summary>
    AbsBackward,
    /// <summary>Backward of clamp to [p, q]: a = grad, b = x; a where p &lt;= x &lt;= q else 0.</summary>
    ClampBackward,
}

/// <summary>Reductions over a set of dimensions.</summary>
public enum ReduceOp
{
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>Arithmetic mean.</summary>
    Mean,
    /// <summary>Variance (biased or unbiased), computed in two passes for stability.</summary>
    Var,
    /// <summary>Maximum, with the index of its first occurrence (over one dimension) when asked.</summary>
    Max,
    /// <summary>Minimum, with the index of its first occurrence (over one dimension) when asked.</summary>
    Min,
}

/// <summary>
/// The backend contract: one method per op family. Tensor-level functions validate their inputs and
/// allocate outputs; a backend only computes. Outputs are always freshly allocated contiguous tensors
/// unless a method says otherwise; inputs may have any strides (including 0 for broadcast dims).
/// Op enums carry the kernel base name (<c>op.ToString().ToLowerInvariant()</c>) so the CUDA backend
/// can resolve <c>"{name}_{dtype}"</c> to a cached function.
/// </summary>
public abstract partial class Backend
{
    /// <summary>The device this backend computes on.</summary>
    public abstract Device Device { get; }

    /// <summary>Allocates uninitialised memory for <paramref name="bytes"/> bytes.</summary>
    public abstract Storage Allocate(long bytes);

    /// <summary>Copies host bytes into the contiguous tensor <paramref name="dst"/>.</summary>
    public abstract void Upload(ReadOnlySpan<byte> host, Tensor dst);

    /// <summary>Copies the contiguous tensor <paramref name="src"/> into host bytes.</summary>
    public abstract void Download(Tensor src, Span<byte> host);

    /// <summary>dst = src elementwise (same shape, any strides, converting dtype when they differ).</summary>
    public abstract void Copy(Tensor src, Tensor dst);

    /// <summary>Sets every element of <paramref name="dst"/> (any strides) to <paramref name="value"/>.</summary>
    public abstract void Fill(Tensor dst, double value);

    /// <summary>y = op(x) elementwise; y is contiguous with x's shape.</summary>
    public abstract void Unary(UnaryOp op, Tensor x, Tensor y, double a, double b);

    /// <summary>y = op(a, b); a and b are views already broadcast to y's shape.</summary>
    public abstract void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y, double p, double q);

    /// <summary>y = cond != 0 ? a : b; all three already broadcast to y's shape.</summary>
    public abstract void Where(Tensor cond, Tensor a, Tensor b, Tensor y);

    /// <summary>
    /// Reduces x over the sorted, distinct <paramref name="dims"/> into y, which has x's rank with
    /// those dims of size 1. <paramref name="indices"/> (int64, y's shape) is filled for Max/Min
    /// over a single dim when given.
    /// </summary>
    public abstract void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y, Tensor? indices, bool unbiased);

    /// <summary>Softmax (or log-softmax) of x along <paramref name="dim"/> into y.</summary>
    public abstract void Softmax(Tensor x, int dim, Tensor y, bool log);

    /// <summary>Backward of softmax/log-softmax: dx from the output y and its gradient g.</summary>
    public abstract void SoftmaxBackward(Tensor g, Tensor y, int dim, Tensor dx, bool log);

    /// <summary>
    /// Batched row-major matrix product c[i] (+)= op(a[i]) * op(b[i]). a is contiguous [Ba, M, K]
    /// ([Ba, K, M] when <paramref name="transA"/>), b contiguous [Bb, K, N] ([Bb, N, K] when
    /// <paramref name="transB"/>), c contiguous [B, M, N]; Ba and Bb are 1 (shared) or B.
    /// </summary>
    public abstract void Matmul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate);

    // ---- normalization: x is contiguous [N, C, S] (S = product of the trailing dims); weight, bias,
    // running statistics, mean and rstd are contiguous vectors; null means absent. ----

    /// <summary>
    /// BatchNorm with batch statistics: per channel mean and rstd = 1/sqrt(biased var + eps) into
    /// <paramref name="mean"/>/<paramref name="rstd"/> [C], y = weight (x - mean) rstd + bias, and, when
    /// given, running statistics updated in the same pass with weight <paramref name="factor"/> for the
    /// new (unbiased) statistics.
    /// </summary>
    public abstract void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor);

    /// <summary>BatchNorm (or InstanceNorm) with running statistics: y = weight (x - rm) / sqrt(rv + eps) + bias.</summary>
    public abstract void BatchNormForwardEval(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, double eps, Tensor y);

    /// <summary>Backward of <see cref="BatchNormForward"/>: two per-channel reductions, then one fused dx pass.</summary>
    public abstract void BatchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor rstd, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias);

    /// <summary>Backward of <see cref="BatchNormForwardEval"/>.</summary>
    public abstract void BatchNormBackwardEval(Tensor x, Tensor dy, Tensor runningMean, Tensor runningVar, double eps, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias);

    /// <summary>
    /// GroupNorm (InstanceNorm when groups = C) with per-(sample, group) statistics into mean/rstd
    /// [N * groups]; affine per channel. Running statistics (groups = C only) are updated with the
    /// batch averages of the per-instance mean and unbiased variance.
    /// </summary>
    public abstract void GroupNormForward(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor);

    /// <summary>Backward of <see cref="GroupNormForward"/>.</summary>
    public abstract void GroupNormBackward(Tensor x, Tensor dy, int groups, Tensor mean, Tensor rstd, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias);

    /// <summary>LayerNorm over the last <paramref name="size"/> elements of each row, with per-element affine.</summary>
    public abstract void LayerNormForward(Tensor x, int size, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd);

    /// <summary>Backward of <see cref="LayerNormForward"/>.</summary>
    public abstract void LayerNormBackward(Tensor x, Tensor dy, int size, Tensor mean, Tensor rstd, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias);
}
