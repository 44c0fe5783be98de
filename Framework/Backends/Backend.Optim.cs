namespace Framework.Backends;

// Optimizer steps: the whole update of one parameter in one pass over its memory (read param, grad
// and state once, write param and state once), instead of the five to eight elementwise ops, each a
// full pass, that the textbook formulas take. All tensors are contiguous, of one dtype and shape;
// the optimizer checks that before calling.
public abstract partial class Backend
{
    /// <summary>
    /// One SGD update, PyTorch's rule: d = grad + weightDecay * param; with momentum, the buffer
    /// becomes d on the first step (<paramref name="firstStep"/>) and momentum * buf + (1 - dampening) * d
    /// afterwards, and d becomes d + momentum * buf (Nesterov) or buf; then param -= lr * d.
    /// <paramref name="momentumBuffer"/> is null when momentum is 0.
    /// </summary>
    public abstract void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double dampening,
        double weightDecay, bool nesterov, bool firstStep);

    /// <summary>
    /// One Adam (or AdamW, <paramref name="decoupledWeightDecay"/>) update at step number
    /// <paramref name="step"/> (1 for the first), PyTorch's rule. Adam adds weightDecay * param to the
    /// gradient; AdamW first scales param by 1 - lr * weightDecay. Then
    /// m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, vmax = max(vmax, v) with AMSGrad,
    /// param -= lr / (1 - beta1^step) * m / (sqrt(v or vmax) / sqrt(1 - beta2^step) + eps).
    /// </summary>
    public abstract void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, long step,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay);
}
