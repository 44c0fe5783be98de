using Framework.Backends;
using Framework.Cuda.Kernels;

namespace Framework.Cuda;

// Normalization: unpack tensors into device pointers and launch kernels/norm.ptx, norm_bwd.ptx through NormLauncher
// (launch planning, workspace, f32/f64). Semantics are the CPU NormKernels': x contiguous [N, C, S],
// outputs overwritten, running statistics updated in the same pass, an empty batch is a no-op, NaN/Inf
// in a group propagate to that group's outputs only (each group's statistics are reduced separately).
public sealed partial class CudaBackend
{
    private NormLauncher? _norm;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, Storage> _normWorkspace = new();

    /// <summary>The norm launcher: kernels through this backend's module cache, workspace (f64 partials) from its allocator.</summary>
    internal NormLauncher Norm => _norm ??= new NormLauncher(
        (name, grid, block, shared, args) => Launch(name, grid, block, shared, args),
        bytes =>
        {
            var storage = (CudaStorage)Allocate((long)bytes);
            _normWorkspace[storage.DevicePointer] = storage;
            return storage.DevicePointer;
        },
        ptr => { if (_normWorkspace.TryRemove(ptr, out var storage)) storage.Release(); });

    private static bool F64(Tensor x) => x.DType == DType.Float64;

    private static (int N, int C, long S) Ncs(Tensor x) =>
        (x._shape[0], x.Dim > 1 ? x._shape[1] : 1, x.Dim > 2 ? x.Numel / ((long)x._shape[0] * x._shape[1]) : 1);

    private static ulong P(Tensor? t) => DevicePtrOrZero(t);

    /// <inheritdoc />
    public override void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor)
    {
        var (n, c, s) = Ncs(x);
        Norm.BatchNormForward(F64(x), P(x), P(y), n, c, s, P(weight), P(bias), eps, P(mean), P(rstd), P(runningMean), P(runningVar), factor);
    }

    /// <inheritdoc />
    public override void BatchNormForwardEval(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, double eps, Tensor y)
    {
        var (n, c, s) = Ncs(x);
        Norm.BatchNormForwardEval(F64(x), P(x), P(y), n, c, s, P(runningMean), P(runningVar), eps, P(weight), P(bias));
    }

    /// <inheritdoc />
    public override void BatchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor rstd, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (n, c, s) = Ncs(x);
        Norm.BatchNormBackward(F64(x), P(x), P(dy), n, c, s, P(mean), P(rstd), P(weight), P(dx), P(dweight), P(dbias));
    }

    /// <inheritdoc />
    public override void BatchNormBackwardEval(Tensor x, Tensor dy, Tensor runningMean, Tensor runningVar, double eps, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (n, c, s) = Ncs(x);
        Norm.BatchNormBackwardEval(F64(x), P(x), P(dy), n, c, s, P(runningMean), P(runningVar), eps, P(weight), P(dx), P(dweight), P(dbias));
    }

    /// <inheritdoc />
    public override void GroupNormForward(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor)
    {
        var (n, c, s) = Ncs(x);
        Norm.GroupNormForward(F64(x), P(x), P(y), n, c, s, groups, P(weight), P(bias), eps, P(mean), P(rstd), P(runningMean), P(runningVar), factor);
    }

    /// <inheritdoc />
    public override void GroupNormBackward(Tensor x, Tensor dy, int groups, Tensor mean, Tensor rstd, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (n, c, s) = Ncs(x);
        Norm.GroupNormBackward(F64(x), P(x), P(dy), n, c, s, groups, P(mean), P(rstd), P(weight), P(dx), P(dweight), P(dbias));
    }

    /// <inheritdoc />
    public override void LayerNormForward(Tensor x, int size, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        long rows = size == 0 ? 0 : x.Numel / size;
        Norm.LayerNormForward(F64(x), P(x), P(y), rows, size, P(weight), P(bias), eps, P(mean), P(rstd));
    }

    /// <inheritdoc />
    public override void LayerNormBackward(Tensor x, Tensor dy, int size, Tensor mean, Tensor rstd, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        long rows = size == 0 ? 0 : x.Numel / size;
        Norm.LayerNormBackward(F64(x), P(x), P(dy), rows, size, P(mean), P(rstd), P(weight), P(dx), P(dweight), P(dbias));
    }
}
