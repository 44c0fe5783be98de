namespace Framework.Cuda;

// Fused optimizer steps (kernels/optim.ptx): one launch, one pass over a parameter's memory. The
// scalars are formed on the host exactly as the CPU backend forms them (in double, then rounded to
// the parameter's type), so the kernels, which repeat the CPU's operations in order with .rn
// rounding, give the CPU's results.
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public override void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening,
        double weightDecay, bool nesterov, bool firstStep)
    {
        // As the CPU: weight decay applies when it is non-zero in the parameter's type.
        bool decay = param.DType == DType.Float32 ? (float)weightDecay != 0f : weightDecay != 0;
        uint flags = (decay ? 1u : 0u) | (momentumBuffer is not null ? 2u : 0u) | (nesterov ? 4u : 0u) | (firstStep ? 8u : 0u);
        LaunchStep("sgd", param, grad, momentumBuffer, null, null, flags, [lr, momentum, 1 - dampening, weightDecay]);
    }

    /// <inheritdoc />
    public override void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, long step,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay)
    {
        double stepSize = lr / (1 - Math.Pow(beta1, step));
        double bc2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        double decayFactor = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
        double gradDecay = decoupledWeightDecay ? 0 : weightDecay;
        // The CPU tests these after rounding to T; a factor that rounds to exactly 1 (or 0) is skipped there too.
        bool f32 = param.DType == DType.Float32;
        bool scale = f32 ? (float)decayFactor != 1f : decayFactor != 1;
        bool coupled = f32 ? (float)gradDecay != 0f : gradDecay != 0;
        uint flags = (scale ? 1u : 0u) | (coupled ? 2u : 0u) | (maxExpAvgSq is not null ? 4u : 0u);
        LaunchStep("adam", param, grad, expAvg, expAvgSq, maxExpAvgSq, flags,
            [beta1, 1 - beta1, beta2, 1 - beta2, eps, stepSize, bc2Sqrt, decayFactor, gradDecay]);
    }

    private void LaunchStep(string op, Tensor param, Tensor grad, Tensor? s1, Tensor? s2, Tensor? s3, uint flags, double[] scalars)
    {
        long n = param.Numel;
        if (n == 0) return;
        bool f32 = param.DType == DType.Float32;
        var args = new KernelParameterBuffer()
            .Add(DevicePtr(param)).Add(DevicePtr(grad)).Add(DevicePtrOrZero(s1)).Add(DevicePtrOrZero(s2)).Add(DevicePtrOrZero(s3))
            .Add((ulong)n).Add(flags);
        // Nine 8-byte slots; a float32 scalar sits in the low half of its slot.
        for (int i = 0; i < 9; i++)
        {
            double v = i < scalars.Length ? scalars[i] : 0;
            if (f32) args.Add(0UL | BitConverter.SingleToUInt32Bits((float)v));
            else args.Add(v);
        }
        Launch($"{op}_{Suffix(param.DType)}", GridFor(n, ElementwiseThreads), (uint)ElementwiseThreads, 0, args);
    }
}
