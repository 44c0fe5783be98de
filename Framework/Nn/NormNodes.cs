using Framework.Autograd;

namespace Framework.Nn;

/// <summary>
/// Backward of the fused norms. Inputs are [input, weight?, bias?]; x and weight are saved, the
/// statistics (mean, rstd) belong to the node. Gradients are computed only for inputs that need them,
/// all in the kernel's two reductions and one dx pass.
/// </summary>
internal abstract class NormNode : Node
{
    public SavedTensor? X, Weight;
    public bool HasBias;

    internal override Tensor?[] Apply(Tensor grad)
    {
        var x = X!.Get();
        var w = Weight?.Get();
        int idx = 1;
        int wIdx = w is not null ? idx++ : -1;
        int bIdx = HasBias ? idx++ : -1;
        bool needX = !Edges[0].IsEmpty;
        bool needW = wIdx >= 0 && !Edges[wIdx].IsEmpty;
        bool needB = bIdx >= 0 && !Edges[bIdx].IsEmpty;
        using var g = grad.ContiguousOwned();
        var dx = needX ? x.EmptyLike(x._shape) : null;
        var dw = needW ? w!.EmptyLike(w._shape) : null;
        var db = needB ? x.EmptyLike(ParamShape(x)) : null;
        Compute(x, g, w, dx, dw, db);
        var result = new Tensor?[Edges.Length];
        result[0] = dx;
        if (wIdx >= 0) result[wIdx] = dw;
        if (bIdx >= 0) result[bIdx] = db;
        return result;
    }

    /// <summary>Shape of weight/bias for this norm (one per channel, or the normalized shape).</summary>
    protected virtual int[] ParamShape(Tensor x) => [x._shape[1]];

    protected abstract void Compute(Tensor x, Tensor dy, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias);
}

internal sealed class BatchNormNode(Tensor mean, Tensor rstd) : NormNode
{
    public override string Name => "BatchNormBackward";

    protected override void Compute(Tensor x, Tensor dy, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias) =>
        x.Backend.BatchNormBackward(x, dy, mean, rstd, weight, dx, dweight, dbias);

    internal override void ReleaseOwned()
    {
        mean.Dispose();
        rstd.Dispose();
    }
}

internal sealed class BatchNormEvalNode(double eps) : NormNode
{
    public SavedTensor? RunningMean, RunningVar;
    public override string Name => "BatchNormBackward";

    protected override void Compute(Tensor x, Tensor dy, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias) =>
        x.Backend.BatchNormBackwardEval(x, dy, RunningMean!.Get(), RunningVar!.Get(), eps, weight, dx, dweight, dbias);
}

internal sealed class GroupNormNode(int groups, Tensor mean, Tensor rstd, string name) : NormNode
{
    public override string Name => name + "Backward";

    protected override void Compute(Tensor x, Tensor dy, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias) =>
        x.Backend.GroupNormBackward(x, dy, groups, mean, rstd, weight, dx, dweight, dbias);

    internal override void ReleaseOwned()
    {
        mean.Dispose();
        rstd.Dispose();
    }
}

internal sealed class LayerNormNode(int size, Tensor mean, Tensor rstd) : NormNode
{
    public override string Name => "LayerNormBackward";

    protected override int[] ParamShape(Tensor x) => Weight is { } w ? w.Get()._shape : [size];

    protected override void Compute(Tensor x, Tensor dy, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        using var w = weight?.ContiguousOwned();
        x.Backend.LayerNormBackward(x, dy, size, mean, rstd, w, dx, dweight, dbias);
    }

    internal override void ReleaseOwned()
    {
        mean.Dispose();
        rstd.Dispose();
    }
}
