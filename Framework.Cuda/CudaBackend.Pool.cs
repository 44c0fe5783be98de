using Framework.Backends;

namespace Framework.Cuda;

// Pooling (kernels/pool.ptx) and the launch of the plane-walk kernels (kernels/planes.ptxinc) that
// pooling and convolution share.
public sealed partial class CudaBackend
{
    private const int PlaneThreads = 256;

    /// <summary>Packs (out, aux, in, rows, geometry[16 x u32]) for a plane-walk kernel; slots beyond the array are 0.</summary>
    private static KernelParameterBuffer PlaneArgs(ulong output, ulong aux, ulong input, long rows, uint[] slots)
    {
        var args = new KernelParameterBuffer().Add(output).Add(aux).Add(input).Add((ulong)rows);
        for (int i = 0; i < 16; i++) args.Add(i < slots.Length ? slots[i] : 0u);
        return args;
    }

    /// <summary>
    /// Launches a plane-walk kernel over rows x inner elements: blocks share a row along y (its set-up
    /// is paid once per row) and split the row along x. About 16k blocks at most, enough to fill a GPU.
    /// </summary>
    private void LaunchPlanes(string kernel, long rows, long inner, KernelParameterBuffer args)
    {
        if (rows == 0 || inner == 0) return;
        if (inner > int.MaxValue) throw new NotSupportedException($"{kernel}: a plane of {inner} elements exceeds the kernels' 32-bit in-plane index");
        uint threads = (uint)Math.Min(PlaneThreads, (inner + 31) / 32 * 32);
        uint gx = (uint)Math.Min((inner + threads - 1) / threads, 64);
        uint gy = (uint)Math.Min(rows, Math.Min(65535, Math.Max(1, 16384 / gx)));
        Launch(kernel, new Dim3(gx, gy), threads, 0, args);
    }

    /// <summary>The geometry slots of the pooling kernels (adaptive windows get neutral fixed-window values, which they ignore).</summary>
    private static uint[] PoolSlots(in Pool2dGeometry g)
    {
        bool a = g.Adaptive;
        uint flags = (a ? 1u : 0u) | (g.CountIncludePad ? 2u : 0u);
        return [(uint)g.C, (uint)g.H, (uint)g.W, (uint)g.OH, (uint)g.OW,
            a ? 0u : (uint)g.KH, a ? 0u : (uint)g.KW, a ? 1u : (uint)g.SH, a ? 1u : (uint)g.SW,
            a ? 0u : (uint)g.PH, a ? 0u : (uint)g.PW, a ? 1u : (uint)g.DH, a ? 1u : (uint)g.DW,
            flags, (uint)g.DivisorOverride];
    }

    /// <inheritdoc />
    public override void MaxPool2d(Tensor x, Tensor y, Tensor indices, in Pool2dGeometry geometry)
    {
        long planes = (long)geometry.N * geometry.C;
        var args = PlaneArgs(DevicePtr(y), DevicePtr(indices), DevicePtr(x), planes, PoolSlots(geometry));
        LaunchPlanes($"maxpool_{Suffix(x.DType)}", planes, (long)geometry.OH * geometry.OW, args);
    }

    /// <inheritdoc />
    public override void AvgPool2d(Tensor x, Tensor y, in Pool2dGeometry geometry)
    {
        long planes = (long)geometry.N * geometry.C;
        var args = PlaneArgs(DevicePtr(y), 0, DevicePtr(x), planes, PoolSlots(geometry));
        LaunchPlanes($"avgpool_{Suffix(x.DType)}", planes, (long)geometry.OH * geometry.OW, args);
    }

    /// <inheritdoc />
    public override void AvgPool2dBackward(Tensor dy, Tensor dx, in Pool2dGeometry geometry)
    {
        // A gather over dx's pixels: every dx element is written (zero where no window holds it).
        long planes = (long)geometry.N * geometry.C;
        var args = PlaneArgs(DevicePtr(dx), 0, DevicePtr(dy), planes, PoolSlots(geometry));
        LaunchPlanes($"avgpool_bwd_{Suffix(dy.DType)}", planes, (long)geometry.H * geometry.W, args);
    }
}
