using Framework.Backends;

namespace Framework.Cuda;

public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public override void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y, Tensor? indices, bool unbiased) => throw new NotImplementedException("WIP");

    /// <inheritdoc />
    public override void Softmax(Tensor x, int dim, Tensor y, bool log) => throw new NotImplementedException("WIP");

    /// <inheritdoc />
    public override void SoftmaxBackward(Tensor g, Tensor y, int dim, Tensor dx, bool log) => throw new NotImplementedException("WIP");

    /// <inheritdoc />
    public override void Matmul(Tensor a, Tensor b, Tensor c, bool transA, bool transB, bool accumulate) => throw new NotImplementedException("WIP");
}

internal static class ReduceSpecs { public static IEnumerable<KernelSpec> All() => []; }
internal static class SoftmaxSpecs { public static IEnumerable<KernelSpec> All() => []; }
