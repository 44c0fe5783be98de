using Framework.Backends;

namespace Framework.Cuda;

// Copy, Fill, Unary, Binary, Where: all through the one elementwise skeleton (kernels/elementwise.ptx).
public sealed partial class CudaBackend
{
    /// <summary>Dims the elementwise kernels index directly; higher ranks (after merging) are split on the host.</summary>
    internal const int MaxKernelDims = 6;
    private const int ElementwiseThreads = 256;

    /// <inheritdoc />
    public override void Copy(Tensor src, Tensor dst)
    {
        if (src.DType == dst.DType && src.IsContiguous && dst.IsContiguous)
        {
            // A dense same-type copy is one driver memcpy (what the copy kernel would do, minus the launch).
            long bytes = dst.Numel * dst.DType.ElementSize();
            if (bytes > 0) Driver.CopyDeviceToDevice(DevicePtr(dst), DevicePtr(src), (ulong)bytes);
            return;
        }
        Elementwise($"copy_{Suffix(src.DType)}_{Suffix(dst.DType)}", dst, src, null, null, 0, 0);
    }

    /// <inheritdoc />
    public override void Fill(Tensor dst, double value) => Elementwise($"fill_{Suffix(dst.DType)}", dst, null, null, null, value, 0);

    /// <inheritdoc />
    public override void Unary(UnaryOp op, Tensor x, Tensor y, double a, double b) =>
        Elementwise($"{KernelCatalog.OpName(op)}_{Suffix(x.DType)}", y, x, null, null, a, b);

    /// <inheritdoc />
    public override void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y, double p, double q) =>
        Elementwise($"{KernelCatalog.OpName(op)}_{Suffix(a.DType)}", y, a, b, null, p, q);

    /// <inheritdoc />
    public override void Where(Tensor cond, Tensor a, Tensor b, Tensor y) =>
        Elementwise($"where_{Suffix(cond.DType)}_{Suffix(a.DType)}", y, cond, a, b, 0, 0);

    /// <summary>
    /// Launches an elementwise kernel over y's shape. Operands (y first) are merged into the fewest dims
    /// (size-1 dims dropped, neighbours joined where every operand is dense across them), so dense
    /// tensors and scalar broadcasts arrive as rank 1, the kernel's fast path.
    /// </summary>
    private void Elementwise(string kernel, Tensor y, Tensor? a, Tensor? b, Tensor? c, double p, double q)
    {
        if (y.Numel == 0) return;
        Tensor?[] operands = [y, a, b, c];
        var (sizes, strides) = MergeDims(y._shape, operands.Select(t => t?._strides).ToArray());
        var ptrs = operands.Select(DevicePtrOrZero).ToArray();
        var elemSizes = operands.Select(t => t is null ? 0 : t.DType.ElementSize()).ToArray();
        LaunchSplit(kernel, sizes, strides, ptrs, elemSizes, p, q);
    }

    /// <summary>Launches one kernel per index of the dims beyond <see cref="MaxKernelDims"/> (rare: only unmergeable ranks over 6).</summary>
    private void LaunchSplit(string kernel, long[] sizes, long[][] strides, ulong[] ptrs, int[] elemSizes, double p, double q)
    {
        if (sizes.Length <= MaxKernelDims)
        {
            LaunchElementwise(kernel, sizes, strides, ptrs, p, q);
            return;
        }
        var innerSizes = sizes[1..];
        var innerStrides = strides.Select(s => s[1..]).ToArray();
        for (long i = 0; i < sizes[0]; i++)
        {
            var shifted = new ulong[ptrs.Length];
            for (int k = 0; k < ptrs.Length; k++)
                shifted[k] = ptrs[k] == 0 ? 0 : ptrs[k] + (ulong)(i * strides[k][0] * elemSizes[k]);
            LaunchSplit(kernel, innerSizes, innerStrides, shifted, elemSizes, p, q);
        }
    }

    private void LaunchElementwise(string kernel, long[] sizes, long[][] strides, ulong[] ptrs, double p, double q)
    {
        long n = 1;
        foreach (var s in sizes) n *= s;
        var args = new KernelParameterBuffer();
        foreach (var ptr in ptrs) args.Add(ptr);
        args.Add((ulong)n).Add((uint)sizes.Length).Add(p).Add(q);
        // dims block, right-aligned: size[6], then the strides of y, a, b, c [6 each]
        int pad = MaxKernelDims - sizes.Length;
        for (int d = 0; d < MaxKernelDims; d++) args.Add((ulong)(d < pad ? 1 : sizes[d - pad]));
        for (int k = 0; k < 4; k++)
            for (int d = 0; d < MaxKernelDims; d++) args.Add(d < pad ? 0L : strides[k][d - pad]);
        // Small tensors get one small block: a launch of a few elements should not run 256 threads.
        uint threads = (uint)Math.Min(ElementwiseThreads, (n + 31) / 32 * 32);
        Launch(kernel, GridFor(n, (int)threads), threads, 0, args);
    }

    /// <summary>
    /// Drops size-1 dims and merges dim d into d+1 when every operand has stride[d] == stride[d+1] * size[d+1].
    /// Absent operands (null) get zero strides. A 0-d tensor becomes one dim of size 1.
    /// </summary>
    internal static (long[] Sizes, long[][] Strides) MergeDims(int[] shape, long[]?[] operandStrides)
    {
        int ops = operandStrides.Length;
        var sizes = new List<long>();
        var strides = Enumerable.Range(0, ops).Select(_ => new List<long>()).ToArray();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            if (sizes.Count > 0)
            {
                int last = sizes.Count - 1;
                bool mergeable = true;
                for (int k = 0; k < ops; k++)
                {
                    long sd = operandStrides[k]?[d] ?? 0;
                    if (strides[k][last] != sd * shape[d]) { mergeable = false; break; }
                }
                if (mergeable)
                {
                    sizes[last] *= shape[d];
                    for (int k = 0; k < ops; k++) strides[k][last] = operandStrides[k]?[d] ?? 0;
                    continue;
                }
            }
            sizes.Add(shape[d]);
            for (int k = 0; k < ops; k++) strides[k].Add(operandStrides[k]?[d] ?? 0);
        }
        if (sizes.Count == 0)
        {
            sizes.Add(1);
            foreach (var s in strides) s.Add(0);
        }
        return (sizes.ToArray(), strides.Select(s => s.ToArray()).ToArray());
    }
}
