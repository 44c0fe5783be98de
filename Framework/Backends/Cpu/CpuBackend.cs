using System.Runtime.InteropServices;
using static Framework.Backends.Cpu.ElementwiseKernels;

namespace Framework.Backends.Cpu;

/// <summary>
/// The CPU backend: elementwise work through the shared strided driver and vectorised row kernels,
/// reductions and softmax row by row, matrix products through the blocked <see cref="Gemm"/> kernel.
/// </summary>
internal sealed unsafe partial class CpuBackend : Backend
{
    public static CpuBackend Instance { get; } = new();

    private CpuBackend() { }

    public override Device Device => Device.Cpu;

    public override Storage Allocate(long bytes) => new CpuStorage(bytes);

    internal static T* Ptr<T>(Tensor t) where T : unmanaged => (T*)((CpuStorage)t.Storage).Pointer + t._offset;

    internal static void* RawPtr(Tensor t) => (byte*)((CpuStorage)t.Storage).Pointer + t._offset * t.DType.ElementSize();

    internal static Span<T> Span<T>(Tensor t) where T : unmanaged => new(Ptr<T>(t), checked((int)t.Numel));

    public override void Upload(ReadOnlySpan<byte> host, Tensor dst) =>
        host.CopyTo(new Span<byte>(RawPtr(dst), checked((int)(dst.Numel * dst.DType.ElementSize()))));

    public override void Download(Tensor src, Span<byte> host) =>
        new ReadOnlySpan<byte>(RawPtr(src), checked((int)(src.Numel * src.DType.ElementSize()))).CopyTo(host);

    public override void Copy(Tensor src, Tensor dst)
    {
        switch (src.DType, dst.DType)
        {
            case (DType.Float32, DType.Float32): CopyAs<float, float>(src, dst); break;
            case (DType.Float32, DType.Float64): CopyAs<float, double>(src, dst); break;
            case (DType.Float32, DType.Int64): CopyAs<float, long>(src, dst); break;
            case (DType.Float64, DType.Float32): CopyAs<double, float>(src, dst); break;
            case (DType.Float64, DType.Float64): CopyAs<double, double>(src, dst); break;
            case (DType.Float64, DType.Int64): CopyAs<double, long>(src, dst); break;
            case (DType.Int64, DType.Float32): CopyAs<long, float>(src, dst); break;
            case (DType.Int64, DType.Float64): CopyAs<long, double>(src, dst); break;
            default: CopyAs<long, long>(src, dst); break;
        }
    }

    private static void CopyAs<TFrom, TTo>(Tensor src, Tensor dst)
        where TFrom : unmanaged, System.Numerics.INumberBase<TFrom> where TTo : unmanaged, System.Numerics.INumberBase<TTo>
    {
        var k = new Copy<TFrom, TTo> { Y = Ptr<TTo>(dst), X = Ptr<TFrom>(src) };
        StridedLoop.Run(ref k, dst._shape, dst._strides, src._strides);
    }

    public override void Fill(Tensor dst, double value)
    {
        switch (dst.DType)
        {
            case DType.Float32: { var k = new Fill<float> { Y = Ptr<float>(dst), Value = (float)value }; StridedLoop.Run(ref k, dst._shape, dst._strides); break; }
            case DType.Float64: { var k = new Fill<double> { Y = Ptr<double>(dst), Value = value }; StridedLoop.Run(ref k, dst._shape, dst._strides); break; }
            default: { var k = new Fill<long> { Y = Ptr<long>(dst), Value = (long)value }; StridedLoop.Run(ref k, dst._shape, dst._strides); break; }
        }
    }

    public override void Unary(UnaryOp op, Tensor x, Tensor y, double a, double b)
    {
        switch (x.DType)
        {
            case DType.Float32:
                {
                    var k = new Unary<float> { Y = Ptr<float>(y), X = Ptr<float>(x), Op = op, A = (float)a, B = (float)b };
                    StridedLoop.Run(ref k, y._shape, y._strides, x._strides);
                    break;
                }
            case DType.Float64:
                {
                    var k = new Unary<double> { Y = Ptr<double>(y), X = Ptr<double>(x), Op = op, A = a, B = b };
                    StridedLoop.Run(ref k, y._shape, y._strides, x._strides);
                    break;
                }
            default:
                {
                    var k = new UnaryInt { Y = Ptr<long>(y), X = Ptr<long>(x), Op = op, A = (long)a, B = (long)b };
                    StridedLoop.Run(ref k, y._shape, y._strides, x._strides);
                    break;
                }
        }
    }

    public override void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y, double p, double q)
    {
        // Comparisons of floats write 1/0 in the inputs' dtype, which may differ from y's only for int64 inputs.
        switch (a.DType)
        {
            case DType.Float32:
                {
                    var k = new Binary<float> { Y = Ptr<float>(y), A = Ptr<float>(a), B = Ptr<float>(b), Op = op, P = (float)p, Q = (float)q };
                    StridedLoop.Run(ref k, y._shape, y._strides, a._strides, b._strides);
                    break;
                }
            case DType.Float64:
                {
                    var k = new Binary<double> { Y = Ptr<double>(y), A = Ptr<double>(a), B = Ptr<double>(b), Op = op, P = p, Q = q };
                    StridedLoop.Run(ref k, y._shape, y._strides, a._strides, b._strides);
                    break;
                }
            default:
                {
                    var k = new BinaryInt { Y = Ptr<long>(y), A = Ptr<long>(a), B = Ptr<long>(b), Op = op };
                    StridedLoop.Run(ref k, y._shape, y._strides, a._strides, b._strides);
                    break;
                }
        }
    }

    public override void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        switch (a.DType)
        {
            case DType.Float32: WhereAs<float>(cond, a, b, y); break;
            case DType.Float64: WhereAs<double>(cond, a, b, y); break;
            default: WhereAs<long>(cond, a, b, y); break;
        }
    }

    private static void WhereAs<T>(Tensor cond, Tensor a, Tensor b, Tensor y) where T : unmanaged
    {
        var k = new Where<T> { Y = Ptr<T>(y), A = Ptr<T>(a), B = Ptr<T>(b), Cond = RawPtr(cond), CondType = cond.DType };
        StridedLoop.Run(ref k, y._shape, y._strides, cond._strides, a._strides, b._strides);
    }
}
