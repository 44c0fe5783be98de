using Framework.Autograd;
using Framework.Nn;

namespace Framework.Distributed;

/// <summary>
/// PyTorch's <c>SyncBatchNorm</c>: batch normalization whose training statistics are those of the
/// batch of every process together. A synchronized layer is a <see cref="BatchNorm2d"/> with a hook set
/// (see <see cref="Convert"/>): eval behaves exactly as BatchNorm2d, and state dicts are the same
/// module's, so they load into either.
/// </summary>
/// <remarks>
/// <para>Forward (training): each rank reduces its own batch to per-channel (count, mean, M2) in float64
/// with the backend's reductions; ONE all-gather of those 3C doubles per rank; every rank merges them in
/// rank order with Chan's formula, so uneven per-rank batches are exact and every rank gets bit-identical
/// statistics. The output uses the backend's fused normalization kernel with the global mean and biased
/// variance; running statistics are updated with the unbiased variance over the global count, identically
/// on every rank, and <c>num_batches_tracked</c> counts once per step.</para>
/// <para>Backward: the backend's batch-norm backward kernel gives each rank's per-channel sums
/// (sum dy, sum dy xhat) against the global statistics; ONE all-reduce of those 2C values; then
/// dx = gamma rstd (dy - sum dy / M - xhat sum(dy xhat) / M) over the global count M. Weight and bias
/// gradients are the local sums (as in PyTorch; DistributedDataParallel averages them).</para>
/// <para>Every rank must run the same forward and backward calls (they are collectives); a rank with an
/// empty batch still takes part in the forward but records no backward, so every rank's batch must be
/// non-empty when training. Synchronization is not differentiable twice (no double backward).</para>
/// </remarks>
public static class SyncBatchNorm
{
    /// <summary>A new synchronized BatchNorm2d (the same arguments as <see cref="BatchNorm2d"/>).</summary>
    public static BatchNorm2d Create(int numFeatures, ProcessGroup group, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
        bool trackRunningStats = true, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        var bn = new BatchNorm2d(numFeatures, eps, momentum, affine, trackRunningStats, dtype: dtype, device: device);
        Attach(bn, group);
        return bn;
    }

    /// <summary>
    /// Synchronizes every BatchNorm2d in <paramref name="module"/>'s tree (itself included) over
    /// <paramref name="group"/>; returns <paramref name="module"/>. The layers keep their parameters,
    /// buffers and state dict keys; only their training forward changes. (The layers are switched in place,
    /// rather than replaced by new objects as PyTorch does, because this framework's modules call their
    /// children through fields that a replacement could not reach.)
    /// </summary>
    public static T Convert<T>(T module, ProcessGroup group) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        foreach (var (_, m) in module.NamedModules())
            if (m is BatchNorm2d bn) Attach(bn, group);
        return module;
    }

    /// <summary>Whether <paramref name="bn"/> is synchronized across processes.</summary>
    public static bool IsSynchronized(BatchNorm2d bn) => bn?.SynchronizedForward is not null;

    private static void Attach(BatchNorm2d bn, ProcessGroup group) => bn.SynchronizedForward = (m, x) => Forward(m, x, group);

    /// <summary>The synchronized training forward (input already checked by BatchNorm2d).</summary>
    internal static Tensor Forward(BatchNorm2d bn, Tensor input, ProcessGroup group)
    {
        int c = bn.NumFeatures;
        long local = input.Numel / c;

        // This rank's partial statistics, in double: (count, mean, M2) per channel.
        var part = new double[3 * c];
        if (local > 0)
        {
            using var scope = new TensorScope();
            var xd = input.Detach().To(DType.Float64);
            var mean = xd.Mean([0, 2, 3], keepDim: true);
            var dev = xd.Sub(mean);
            var m2 = dev.Mul(dev).Sum([0, 2, 3]);
            var meanHost = mean.To(Device.Cpu).ToArray<double>();
            var m2Host = m2.To(Device.Cpu).ToArray<double>();
            for (int ch = 0; ch < c; ch++)
            {
                part[ch] = local;
                part[c + ch] = meanHost[ch];
                part[2 * c + ch] = m2Host[ch];
            }
        }
        var all = new double[3 * c * group.WorldSize];
        group.AllGather<double>(part, all);

        // Chan's merge, in rank order on every rank (so every rank gets the same bits).
        var n = new double[c];
        var mu = new double[c];
        var m2g = new double[c];
        for (int r = 0; r < group.WorldSize; r++)
        {
            int o = 3 * c * r;
            for (int ch = 0; ch < c; ch++)
            {
                double nb = all[o + ch];
                if (nb == 0) continue;
                double na = n[ch], total = na + nb, delta = all[o + c + ch] - mu[ch];
                mu[ch] += delta * nb / total;
                m2g[ch] += all[o + 2 * c + ch] + delta * delta * na * nb / total;
                n[ch] = total;
            }
        }
        double count = n[0];
        if (count <= 1)
            throw new ArgumentException($"SyncBatchNorm expected more than 1 value per channel over all {group.WorldSize} ranks when training, got {count} (this rank's input {Shapes.Format(input.Shape)})");
        if (local == 0) return F.EmptyOutput(input);

        var varB = new double[c];
        var rstd = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            varB[ch] = m2g[ch] / count;
            rstd[ch] = 1.0 / Math.Sqrt(varB[ch] + bn.Eps);
        }

        if (bn.TrackRunningStats)
        {
            double f = bn.NextFactor();
            double unbias = count / (count - 1);
            UpdateRunning(bn.RunningMean!, mu, m => m, f);
            UpdateRunning(bn.RunningVar!, varB, v => v * unbias, f);
            bn.CountBatch();
        }

        var y = input.EmptyLike(input.Shape);
        using var unscoped = TensorScope.Suppress();
        using var x = input.ContiguousOwned();
        Tensor? meanT = Vector(mu, input);
        try
        {
            using (var varT = Vector(varB, input))
                input.Backend.BatchNormForwardEval(x, bn.Weight, bn.Bias, meanT, varT, bn.Eps, y);
            var inputs = new List<Tensor> { input };
            if (bn.Weight is { } w) inputs.Add(w);
            if (bn.Bias is { } b) inputs.Add(b);
            if (Engine.NeedsGrad(inputs))
            {
                var node = new SyncBatchNormNode(group, meanT, Vector(rstd, input), count, bn.Bias is not null);
                meanT = null;
                node.X = node.Save(x);
                if (bn.Weight is { } wt) node.Weight = node.Save(wt);
                Engine.Record(node, y, inputs);
            }
        }
        catch
        {
            y.Dispose();
            throw;
        }
        finally { meanT?.Dispose(); }
        return y;
    }

    private static void UpdateRunning(Tensor running, double[] stat, Func<double, double> map, double f)
    {
        var r = ToDouble(running);
        for (int i = 0; i < r.Length; i++) r[i] = (1 - f) * r[i] + f * map(stat[i]);
        using var noGrad = Tensor.NoGrad();
        using var fresh = Vector(r, running);
        running.CopyFrom(fresh);
    }

    /// <summary>A [C] vector of <paramref name="values"/> in the input's dtype and on its device (not scoped).</summary>
    internal static Tensor Vector(double[] values, Tensor like)
    {
        using var unscoped = TensorScope.Suppress();
        if (like.DType == DType.Float64) return Tensor.From(values, [values.Length], like.Device);
        if (like.DType != DType.Float32)
            throw new ArgumentException($"SyncBatchNorm expected a float32 or float64 input, got {like.DType.Name()}");
        var f = new float[values.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)values[i];
        return Tensor.From(f, [f.Length], like.Device);
    }

    /// <summary>A float32 or float64 tensor's values as doubles, from any device.</summary>
    internal static double[] ToDouble(Tensor t) =>
        t.DType == DType.Float64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v);
}

/// <summary>Backward of <see cref="SyncBatchNorm"/>: local kernel sums, one all-reduce, then dx over the global count.</summary>
internal sealed class SyncBatchNormNode(ProcessGroup group, Tensor mean, Tensor rstd, double count, bool hasBias) : Node
{
    public SavedTensor? X, Weight;

    public override string Name => "SyncBatchNormBackward";

    internal override Tensor?[] Apply(Tensor grad)
    {
        var x = X!.Get();
        var w = Weight?.Get();
        int c = mean.Shape[0];
        int idx = 1;
        int wIdx = w is not null ? idx++ : -1;
        int bIdx = hasBias ? idx++ : -1;
        using var g = grad.ContiguousOwned();
        // Local per-channel sums against the global statistics: dweight = sum dy xhat, dbias = sum dy.
        var dw = x.EmptyLike([c]);
        var db = x.EmptyLike([c]);
        var result = new Tensor?[Edges.Length];
        try
        {
            x.Backend.BatchNormBackward(x, g, mean, rstd, null, null, dw, db);
            var sums = new double[2 * c];
            var sg = SyncBatchNorm.ToDouble(db);
            var sgx = SyncBatchNorm.ToDouble(dw);
            sg.CopyTo(sums, 0);
            sgx.CopyTo(sums, c);
            group.AllReduce<double>(sums);

            if (!Edges[0].IsEmpty)
            {
                // dx = A dy + B (x - mean) + K per channel, A = gamma rstd, B = -A rstd sum(dy xhat) / M, K = -A sum(dy) / M.
                var r = SyncBatchNorm.ToDouble(rstd);
                var gamma = w is null ? null : SyncBatchNorm.ToDouble(w);
                var a = new double[c];
                var bcoef = new double[c];
                var k = new double[c];
                for (int ch = 0; ch < c; ch++)
                {
                    a[ch] = r[ch] * (gamma?[ch] ?? 1.0);
                    bcoef[ch] = -a[ch] * r[ch] * sums[c + ch] / count;
                    k[ch] = -a[ch] * sums[ch] / count;
                }
                using var scope = new TensorScope();
                int[] bshape = [1, c, 1, 1];
                var at = SyncBatchNorm.Vector(a, x).View(bshape);
                var bt = SyncBatchNorm.Vector(bcoef, x).View(bshape);
                var kt = SyncBatchNorm.Vector(k, x).View(bshape);
                var dx = g.Mul(at).Add(x.Sub(mean.View(bshape)).Mul(bt)).Add(kt);
                scope.Forget(dx);
                result[0] = dx;
            }
            if (wIdx >= 0 && !Edges[wIdx].IsEmpty) { result[wIdx] = dw; dw = null!; }
            if (bIdx >= 0 && !Edges[bIdx].IsEmpty) { result[bIdx] = db; db = null!; }
            return result;
        }
        finally
        {
            dw?.Dispose();
            db?.Dispose();
        }
    }

    internal override void ReleaseOwned()
    {
        mean.Dispose();
        rstd.Dispose();
    }
}
