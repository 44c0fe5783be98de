using System.Numerics;
using System.Numerics.Tensors;

namespace Framework.Backends.Cpu;

internal sealed unsafe partial class CpuBackend
{
    // Softmax works on rows along `dim`: a tensor [outer, n, inner] is processed as `outer*inner`
    // rows of length n with stride `inner`. When inner == 1 (the usual last-dim case) rows are dense.
    public override void Softmax(Tensor x, int dim, Tensor y, bool log)
    {
        using var xc = x.ContiguousOwned();
        if (x.DType == DType.Float32) SoftmaxAs<float>(xc, dim, y, log);
        else SoftmaxAs<double>(xc, dim, y, log);
    }

    public override void SoftmaxBackward(Tensor g, Tensor y, int dim, Tensor dx, bool log)
    {
        using var gc = g.ContiguousOwned();
        using var yc = y.ContiguousOwned();
        if (g.DType == DType.Float32) SoftmaxBackwardAs<float>(gc, yc, dim, dx, log);
        else SoftmaxBackwardAs<double>(gc, yc, dim, dx, log);
    }

    private static (long Outer, int N, long Inner) RowShape(Tensor t, int dim)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= t._shape[d];
        for (int d = dim + 1; d < t.Dim; d++) inner *= t._shape[d];
        return (outer, t.Dim == 0 ? 1 : t._shape[dim], inner);
    }

    private static void ForEachRow(long rows, long n, Action<long> body)
    {
        if (rows * n < StridedLoop.ParallelThreshold || rows == 1) for (long r = 0; r < rows; r++) body(r);
        else Parallel.For(0L, rows, body);
    }

    private static void SoftmaxAs<T>(Tensor x, int dim, Tensor y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = RowShape(x, dim);
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        ForEachRow(outer * inner, n, row =>
        {
            long o = row / inner, i = row % inner;
            long start = o * n * inner + i;
            Span<T> buf = n <= 1024 ? stackalloc T[n] : new T[n];
            for (int k = 0; k < n; k++) buf[k] = px[start + k * inner];
            // Subtract the max first: exp never overflows and the largest term is exactly 1.
            T max = TensorPrimitives.Max<T>(buf);
            TensorPrimitives.Subtract(buf, max, buf);
            if (log)
            {
                Span<T> e = n <= 1024 ? stackalloc T[n] : new T[n];
                TensorPrimitives.Exp(buf, e);
                T lse = T.Log(TensorPrimitives.Sum<T>(e));
                for (int k = 0; k < n; k++) py[start + k * inner] = buf[k] - lse;
            }
            else
            {
                TensorPrimitives.Exp(buf, buf);
                T sum = TensorPrimitives.Sum<T>(buf);
                for (int k = 0; k < n; k++) py[start + k * inner] = buf[k] / sum;
            }
        });
    }

    private static void SoftmaxBackwardAs<T>(Tensor g, Tensor y, int dim, Tensor dx, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, n, inner) = RowShape(y, dim);
        T* pg = Ptr<T>(g), py = Ptr<T>(y), pd = Ptr<T>(dx);
        ForEachRow(outer * inner, n, row =>
        {
            long o = row / inner, i = row % inner;
            long start = o * n * inner + i;
            if (log)
            {
                // y = log softmax: dx = g - softmax * sum(g)
                T sum = T.Zero;
                for (int k = 0; k < n; k++) sum += pg[start + k * inner];
                for (int k = 0; k < n; k++) { long at = start + k * inner; pd[at] = pg[at] - T.Exp(py[at]) * sum; }
            }
            else
            {
                // y = softmax: dx = y * (g - sum(g * y))
                T dot = T.Zero;
                for (int k = 0; k < n; k++) { long at = start + k * inner; dot += pg[at] * py[at]; }
                for (int k = 0; k < n; k++) { long at = start + k * inner; pd[at] = py[at] * (pg[at] - dot); }
            }
        });
    }
}
