using System.Numerics;
using System.Runtime.CompilerServices;

namespace Framework.Backends.Cpu;

// Gather / scatter-add along one dim. When index has the data's shape in every other dim (the usual
// case: class targets, pooling argmax) both are walked as [outer, size, inner] blocks; otherwise each
// index element's coordinates are decoded. Scatter runs in parallel only over slices of dim 0 when dim
// is not 0: those slices write disjoint parts of dst, so no two threads touch one element.
internal sealed unsafe partial class CpuBackend
{
    public override void Gather(Tensor x, int dim, Tensor index, Tensor y) => IndexAlong(x, dim, index, y, scatter: false);

    public override void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src) => IndexAlong(dst, dim, index, src, scatter: true);

    private static void IndexAlong(Tensor data, int dim, Tensor index, Tensor other, bool scatter)
    {
        switch (data.DType)
        {
            case DType.Float32: IndexAlongAs<float>(data, dim, index, other, scatter); break;
            case DType.Float64: IndexAlongAs<double>(data, dim, index, other, scatter); break;
            default: IndexAlongAs<long>(data, dim, index, other, scatter); break;
        }
    }

    private static void IndexAlongAs<T>(Tensor data, int dim, Tensor index, Tensor other, bool scatter) where T : unmanaged, INumberBase<T>
    {
        T* pd = Ptr<T>(data), po = Ptr<T>(other);
        long* pi = Ptr<long>(index);
        int rank = index.Dim;
        if (index.Numel == 0) return;
        if (rank == 0)
        {
            if (scatter) pd[pi[0]] += po[0]; else po[0] = pd[pi[0]];
            return;
        }
        var ishape = index._shape;
        var dshape = data._shape;
        bool blocks = true;
        for (int d = 0; d < rank; d++) if (d != dim && ishape[d] != dshape[d]) blocks = false;
        int outer = ishape[0];
        long perSlice = index.Numel / outer;
        bool parallel = outer > 1 && index.Numel >= StridedLoop.ParallelThreshold && (dim != 0 || !scatter);
        if (blocks)
        {
            long inner = 1;
            for (int d = dim + 1; d < rank; d++) inner *= ishape[d];
            long isize = ishape[dim], dsize = dshape[dim];
            long rows = index.Numel / (isize * inner);
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void Row(long r)
            {
                long ib = r * isize * inner, db = r * dsize * inner;
                for (long j = 0; j < isize; j++)
                    for (long i = 0; i < inner; i++)
                    {
                        long at = ib + j * inner + i;
                        long src = db + pi[at] * inner + i;
                        if (scatter) pd[src] += po[at]; else po[at] = pd[src];
                    }
            }
            // Rows are the dims before `dim`; for dim 0 there is a single row (scattered serially).
            if (parallel && rows > 1) Parallel.For(0L, rows, Row);
            else for (long r = 0; r < rows; r++) Row(r);
            return;
        }
        var dstrides = data._strides;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Slice(int s)
        {
            for (long q = 0; q < perSlice; q++)
            {
                long at = s * perSlice + q, rem = at, off = 0;
                for (int d = rank - 1; d >= 0; d--)
                {
                    long c = rem % ishape[d];
                    rem /= ishape[d];
                    off += (d == dim ? pi[at] : c) * dstrides[d];
                }
                if (scatter) pd[off] += po[at]; else po[at] = pd[off];
            }
        }
        if (parallel) Parallel.For(0, outer, Slice);
        else for (int s = 0; s < outer; s++) Slice(s);
    }
}
