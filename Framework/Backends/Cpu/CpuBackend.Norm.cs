using System.Numerics;

namespace Framework.Backends.Cpu;

// Normalization entry points: unpack tensors into the raw fused kernels of NormKernels.
internal sealed unsafe partial class CpuBackend
{
    private static T* P<T>(Tensor? t) where T : unmanaged => t is null ? null : Ptr<T>(t);

    private static (int N, int C, long S) Ncs(Tensor x) => (x._shape[0], x.Dim > 1 ? x._shape[1] : 1, x.Dim > 2 ? x.Numel / ((long)x._shape[0] * x._shape[1]) : 1);

    public override void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor)
    {
        if (x.DType == DType.Float32) BatchNormForwardAs<float>(x, weight, bias, eps, y, mean, rstd, runningMean, runningVar, factor);
        else BatchNormForwardAs<double>(x, weight, bias, eps, y, mean, rstd, runningMean, runningVar, factor);
    }

    private static void BatchNormForwardAs<T>(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (n, c, s) = Ncs(x);
        NormKernels.BatchNormForward(P<T>(x), P<T>(y), n, c, s, P<T>(weight), P<T>(bias), eps, P<T>(mean), P<T>(rstd),
            P<T>(runningMean), P<T>(runningVar), factor);
    }

    public override void BatchNormForwardEval(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, double eps, Tensor y)
    {
        var (n, c, s) = Ncs(x);
        if (x.DType == DType.Float32)
            NormKernels.BatchNormEval(P<float>(x), P<float>(y), n, c, s, P<float>(runningMean), P<float>(runningVar), eps, P<float>(weight), P<float>(bias));
        else
            NormKernels.BatchNormEval(P<double>(x), P<double>(y), n, c, s, P<double>(runningMean), P<double>(runningVar), eps, P<double>(weight), P<double>(bias));
    }

    public override void BatchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor rstd, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (n, c, s) = Ncs(x);
        if (x.DType == DType.Float32)
            NormKernels.BatchNormBackward(P<float>(x), P<float>(dy), n, c, s, P<float>(mean), P<float>(rstd), P<float>(weight), P<float>(dx), P<float>(dweight), P<float>(dbias));
        else
            NormKernels.BatchNormBackward(P<double>(x), P<double>(dy), n, c, s, P<double>(mean), P<double>(rstd), P<double>(weight), P<double>(dx), P<double>(dweight), P<double>(dbias));
    }

    public override void BatchNormBackwardEval(Tensor x, Tensor dy, Tensor runningMean, Tensor runningVar, double eps, Tensor? weight,
        Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (n, c, s) = Ncs(x);
        if (x.DType == DType.Float32)
            NormKernels.BatchNormBackwardEval(P<float>(x), P<float>(dy), n, c, s, P<float>(runningMean), P<float>(runningVar), eps, P<float>(weight), P<float>(dx), P<float>(dweight), P<float>(dbias));
        else
            NormKernels.BatchNormBackwardEval(P<double>(x), P<double>(dy), n, c, s, P<double>(runningMean), P<double>(runningVar), eps, P<double>(weight), P<double>(dx), P<double>(dweight), P<double>(dbias));
    }

    public override void GroupNormForward(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd,
        Tensor? runningMean, Tensor? runningVar, double factor)
    {
        var (n, c, s) = Ncs(x);
        if (x.DType == DType.Float32)
            NormKernels.GroupNormForward(P<float>(x), P<float>(y), n, c, s, groups, P<float>(weight), P<float>(bias), eps, P<float>(mean), P<float>(rstd), P<float>(runningMean), P<float>(runningVar), factor);
        else
            NormKernels.GroupNormForward(P<double>(x), P<double>(y), n, c, s, groups, P<double>(weight), P<double>(bias), eps, P<double>(mean), P<double>(rstd), P<double>(runningMean), P<double>(runningVar), factor);
    }

    public override void GroupNormBackward(Tensor x, Tensor dy, int groups, Tensor mean, Tensor rstd, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (n, c, s) = Ncs(x);
        if (x.DType == DType.Float32)
            NormKernels.GroupNormBackward(P<float>(x), P<float>(dy), n, c, s, groups, P<float>(mean), P<float>(rstd), P<float>(weight), P<float>(dx), P<float>(dweight), P<float>(dbias));
        else
            NormKernels.GroupNormBackward(P<double>(x), P<double>(dy), n, c, s, groups, P<double>(mean), P<double>(rstd), P<double>(weight), P<double>(dx), P<double>(dweight), P<double>(dbias));
    }

    public override void LayerNormForward(Tensor x, int size, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        long rows = size == 0 ? 0 : x.Numel / size;
        if (x.DType == DType.Float32)
            NormKernels.LayerNormForward(P<float>(x), P<float>(y), rows, size, P<float>(weight), P<float>(bias), eps, P<float>(mean), P<float>(rstd));
        else
            NormKernels.LayerNormForward(P<double>(x), P<double>(y), rows, size, P<double>(weight), P<double>(bias), eps, P<double>(mean), P<double>(rstd));
    }

    public override void LayerNormBackward(Tensor x, Tensor dy, int size, Tensor mean, Tensor rstd, Tensor? weight, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        long rows = size == 0 ? 0 : x.Numel / size;
        if (x.DType == DType.Float32)
            NormKernels.LayerNormBackward(P<float>(x), P<float>(dy), rows, size, P<float>(mean), P<float>(rstd), P<float>(weight), P<float>(dx), P<float>(dweight), P<float>(dbias));
        else
            NormKernels.LayerNormBackward(P<double>(x), P<double>(dy), rows, size, P<double>(mean), P<double>(rstd), P<double>(weight), P<double>(dx), P<double>(dweight), P<double>(dbias));
    }
}
