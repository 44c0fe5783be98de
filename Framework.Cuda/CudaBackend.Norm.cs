using Framework.Backends;

namespace Framework.Cuda;

// Placeholder: the normalization kernels (norm.ptx) are written on branch cudanorm, which replaces
// this file. Until then the norm entry points say so instead of computing anything.
public sealed partial class CudaBackend
{
    private static NotSupportedException NormPending(string op) =>
        new($"{op} is not implemented on the CUDA backend yet: the normalization kernels (kernels/norm.ptx) are pending");

    /// <inheritdoc />
    public override void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor) => throw NormPending(nameof(BatchNormForward));

    /// <inheritdoc />
    public override void BatchNormForwardEval(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, double eps, Tensor y) =>
        throw NormPending(nameof(BatchNormForwardEval));

    /// <inheritdoc />
    public override void BatchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor rstd, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias) =>
        throw NormPending(nameof(BatchNormBackward));

    /// <inheritdoc />
    public override void BatchNormBackwardEval(Tensor x, Tensor dy, Tensor runningMean, Tensor runningVar, double eps, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias) => throw NormPending(nameof(BatchNormBackwardEval));

    /// <inheritdoc />
    public override void GroupNormForward(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor) => throw NormPending(nameof(GroupNormForward));

    /// <inheritdoc />
    public override void GroupNormBackward(Tensor x, Tensor dy, int groups, Tensor mean, Tensor rstd, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias) => throw NormPending(nameof(GroupNormBackward));

    /// <inheritdoc />
    public override void LayerNormForward(Tensor x, int size, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd) =>
        throw NormPending(nameof(LayerNormForward));

    /// <inheritdoc />
    public override void LayerNormBackward(Tensor x, Tensor dy, int size, Tensor mean, Tensor rstd, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias) => throw NormPending(nameof(LayerNormBackward));
}
