using System.Numerics;

namespace Framework.Backends.Cpu;

// Fused optimizer updates. Each element is read and written once per step; the arithmetic follows
// PyTorch's op order (each intermediate rounded to T, as its separate in-place ops do) so float32
// results agree with PyTorch's to the last bit or two rather than drifting over many steps.
internal sealed unsafe partial class CpuBackend
{
    /// <summary>Elements per parallel work item: large enough that a Parallel.For item costs far more than its scheduling.</summary>
    private const long OptimGrain = 1 << 15;

    /// <summary>Runs body over [0, n) in OptimGrain chunks, on the pool when there is more than one chunk's worth of threads to feed.</summary>
    private static void ForChunks(long n, Action<long, long> body)
    {
        if (n < StridedLoop.ParallelThreshold) { body(0, n); return; }
        long chunks = (n + OptimGrain - 1) / OptimGrain;
        Parallel.For(0L, chunks, c => body(c * OptimGrain, Math.Min(n, (c + 1) * OptimGrain)));
    }

    public override void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening,
        double weightDecay, bool nesterov, bool firstStep)
    {
        if (param.DType == DType.Float32)
            SgdAs(Ptr<float>(param), Ptr<float>(grad), momentumBuffer is null ? null : Ptr<float>(momentumBuffer), param.Numel,
                (float)lr, (float)momentum, (float)(1 - dampening), (float)weightDecay, nesterov, firstStep);
        else
            SgdAs(Ptr<double>(param), Ptr<double>(grad), momentumBuffer is null ? null : Ptr<double>(momentumBuffer), param.Numel,
                lr, momentum, 1 - dampening, weightDecay, nesterov, firstStep);
    }

    private static void SgdAs<T>(T* p, T* g, T* buf, long n, T lr, T momentum, T oneMinusDampening, T weightDecay, bool nesterov, bool firstStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool decay = weightDecay != T.Zero;
        ForChunks(n, (start, end) =>
        {
            long i = start;
            if (Vector.IsHardwareAccelerated)
            {
                var vlr = new Vector<T>(lr); var vm = new Vector<T>(momentum);
                var vd = new Vector<T>(oneMinusDampening); var vwd = new Vector<T>(weightDecay);
                for (; i <= end - Vector<T>.Count; i += Vector<T>.Count)
                {
                    var vp = Vector.Load(p + i);
                    var d = Vector.Load(g + i);
                    if (decay) d += vwd * vp;
                    if (buf != null)
                    {
                        var b = firstStep ? d : Vector.Load(buf + i) * vm + vd * d;
                        Vector.Store(b, buf + i);
                        d = nesterov ? d + vm * b : b;
                    }
                    Vector.Store(vp - vlr * d, p + i);
                }
            }
            for (; i < end; i++)
            {
                T d = g[i];
                if (decay) d += weightDecay * p[i];
                if (buf != null)
                {
                    T b = firstStep ? d : buf[i] * momentum + oneMinusDampening * d;
                    buf[i] = b;
                    d = nesterov ? d + momentum * b : b;
                }
                p[i] -= lr * d;
            }
        });
    }

    public override void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, long step,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay)
    {
        // Scalars exactly as PyTorch forms them (in double, then handed to the kernel as T).
        double stepSize = lr / (1 - Math.Pow(beta1, step));
        double bc2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        double decayFactor = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
        double gradDecay = decoupledWeightDecay ? 0 : weightDecay;
        if (param.DType == DType.Float32)
            AdamAs(Ptr<float>(param), Ptr<float>(grad), Ptr<float>(expAvg), Ptr<float>(expAvgSq), maxExpAvgSq is null ? null : Ptr<float>(maxExpAvgSq),
                param.Numel, (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)eps, (float)stepSize, (float)bc2Sqrt,
                (float)decayFactor, (float)gradDecay);
        else
            AdamAs(Ptr<double>(param), Ptr<double>(grad), Ptr<double>(expAvg), Ptr<double>(expAvgSq), maxExpAvgSq is null ? null : Ptr<double>(maxExpAvgSq),
                param.Numel, beta1, 1 - beta1, beta2, 1 - beta2, eps, stepSize, bc2Sqrt, decayFactor, gradDecay);
    }

    private static void AdamAs<T>(T* p, T* g, T* m, T* v, T* vmax, long n, T beta1, T oneMinusBeta1, T beta2, T oneMinusBeta2, T eps,
        T stepSize, T bc2Sqrt, T decayFactor, T gradDecay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool scale = decayFactor != T.One, coupled = gradDecay != T.Zero;
        ForChunks(n, (start, end) =>
        {
            long i = start;
            if (Vector.IsHardwareAccelerated)
            {
                var vb1 = new Vector<T>(beta1); var vb1c = new Vector<T>(oneMinusBeta1);
                var vb2 = new Vector<T>(beta2); var vb2c = new Vector<T>(oneMinusBeta2);
                var veps = new Vector<T>(eps); var vstep = new Vector<T>(stepSize); var vbc2 = new Vector<T>(bc2Sqrt);
                var vdf = new Vector<T>(decayFactor); var vgd = new Vector<T>(gradDecay);
                for (; i <= end - Vector<T>.Count; i += Vector<T>.Count)
                {
                    var vp = Vector.Load(p + i);
                    var vg = Vector.Load(g + i);
                    if (scale) vp *= vdf;
                    if (coupled) vg += vgd * vp;
                    var vm = Vector.Load(m + i) * vb1 + vb1c * vg;
                    var vv = Vector.Load(v + i) * vb2 + vb2c * (vg * vg);
                    Vector.Store(vm, m + i);
                    Vector.Store(vv, v + i);
                    if (vmax != null)
                    {
                        vv = Vector.Max(Vector.Load(vmax + i), vv);
                        Vector.Store(vv, vmax + i);
                    }
                    var denom = Vector.SquareRoot(vv) / vbc2 + veps;
                    Vector.Store(vp - vstep * (vm / denom), p + i);
                }
            }
            for (; i < end; i++)
            {
                T pi = p[i], gi = g[i];
                if (scale) pi *= decayFactor;
                if (coupled) gi += gradDecay * pi;
                T mi = m[i] * beta1 + oneMinusBeta1 * gi;
                T vi = v[i] * beta2 + oneMinusBeta2 * (gi * gi);
                m[i] = mi;
                v[i] = vi;
                if (vmax != null)
                {
                    vi = T.Max(vmax[i], vi);
                    vmax[i] = vi;
                }
                T denom = T.Sqrt(vi) / bc2Sqrt + eps;
                p[i] = pi - stepSize * (mi / denom);
            }
        });
    }
}
