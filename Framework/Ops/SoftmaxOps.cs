using Framework.Autograd;

namespace Framework;

public sealed partial class Tensor
{
    /// <summary>exp(x) / sum(exp(x)) along <paramref name="dim"/>, computed with the max subtracted (never overflows).</summary>
    public Tensor Softmax(int dim) => OpRecording.Note(SoftmaxImpl(dim, log: false), "Softmax", this, null, dim);

    /// <summary>x - logsumexp(x) along <paramref name="dim"/>; stable for large logits.</summary>
    public Tensor LogSoftmax(int dim) => OpRecording.Note(SoftmaxImpl(dim, log: true), "LogSoftmax", this, null, dim);

    private Tensor SoftmaxImpl(int dim, bool log)
    {
        string name = log ? "LogSoftmax" : "Softmax";
        CheckFloatingPoint(name);
        int d = Shapes.NormalizeDim(dim, Dim, name);
        var y = EmptyLike(_shape);
        if (Numel > 0) Backend.Softmax(this, Dim == 0 ? 0 : d, y, log);
        if (!Engine.NeedsGrad(this)) return y;
        var node = new SoftmaxBackwardNode(name + "Backward", Dim == 0 ? 0 : d, log);
        node.Y = node.Save(y);
        return Engine.Record(node, y, this);
    }

    private sealed class SoftmaxBackwardNode(string name, int dim, bool log) : Node
    {
        public SavedTensor? Y;
        public override string Name => name;

        internal override Tensor?[] Apply(Tensor grad)
        {
            var y = Y!.Get();
            var dx = grad.EmptyLike(grad._shape);
            if (dx.Numel > 0) grad.Backend.SoftmaxBackward(grad, y, dim, dx, log);
            return [dx];
        }
    }
}
