using Framework.Autograd;
using Framework.Backends;

namespace Framework;

// Elementwise functions of one tensor. Each forward sits next to the node that differentiates it;
// nodes save the output instead of the input where the derivative is cheaper from it.
public sealed partial class Tensor
{
    private Tensor UnaryForward(UnaryOp op, string name, double a = 0, double b = 0, bool floatOnly = true)
    {
        if (floatOnly) CheckFloatingPoint(name);
        var y = EmptyLike(_shape);
        Backend.Unary(op, this, y, a, b);
        return y;
    }

    /// <summary>-x</summary>
    public Tensor Neg()
    {
        var y = UnaryForward(UnaryOp.Neg, "Neg", floatOnly: false);
        return Engine.NeedsGrad(this) ? Engine.Record(new ScaleBackward(-1, "NegBackward"), y, this) : y;
    }

    /// <summary>e^x</summary>
    public Tensor Exp()
    {
        var y = UnaryForward(UnaryOp.Exp, "Exp");
        if (!Engine.NeedsGrad(this)) return y;
        var node = new GradTimesBackward("ExpBackward", BinaryOp.Mul);
        node.SavedArg = node.Save(y);
        return Engine.Record(node, y, this);
    }

    /// <summary>Natural logarithm.</summary>
    public Tensor Log()
    {
        var y = UnaryForward(UnaryOp.Log, "Log");
        if (!Engine.NeedsGrad(this)) return y;
        var node = new GradTimesBackward("LogBackward", BinaryOp.Div);
        node.SavedArg = node.Save(this);
        return Engine.Record(node, y, this);
    }

    /// <summary>Square root.</summary>
    public Tensor Sqrt()
    {
        var y = UnaryForward(UnaryOp.Sqrt, "Sqrt");
        if (!Engine.NeedsGrad(this)) return y;
        var node = new SqrtBackward();
        node.SavedArg = node.Save(y);
        return Engine.Record(node, y, this);
    }

    /// <summary>1 / sqrt(x).</summary>
    public Tensor Rsqrt()
    {
        var y = UnaryForward(UnaryOp.Rsqrt, "Rsqrt");
        if (!Engine.NeedsGrad(this)) return y;
        var node = new RsqrtBackward();
        node.SavedArg = node.Save(y);
        return Engine.Record(node, y, this);
    }

    /// <summary>x raised to a scalar power.</summary>
    public Tensor Pow(double exponent)
    {
        var y = UnaryForward(UnaryOp.Pow, "Pow", exponent);
        if (!Engine.NeedsGrad(this)) return y;
        var node = new PowBackward(exponent);
        node.SavedArg = node.Save(this);
        return Engine.Record(node, y, this);
    }

    /// <summary>|x|; the gradient at 0 is 0, as in PyTorch.</summary>
    public Tensor Abs()
    {
        var y = UnaryForward(UnaryOp.Abs, "Abs", floatOnly: false);
        return RecordMasked(y, BinaryOp.AbsBackward, "AbsBackward", this);
    }

    /// <summary>Clamps to [min, max]; the gradient passes where min &lt;= x &lt;= max.</summary>
    public Tensor Clamp(double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (min > max) throw new ArgumentException($"Clamp expected min <= max, got min {min} and max {max}");
        var y = UnaryForward(UnaryOp.Clamp, "Clamp", min, max, floatOnly: false);
        return RecordMasked(y, BinaryOp.ClampBackward, "ClampBackward", this, min, max);
    }

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => OpRecording.Note(ReluCore(), "Relu", this);

    private Tensor ReluCore()
    {
        var y = UnaryForward(UnaryOp.Relu, "Relu");
        return RecordMasked(y, BinaryOp.ReluBackward, "ReluBackward", y);
    }

    /// <summary>x for x &gt;= 0, slope * x otherwise.</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01)
    {
        var y = UnaryForward(UnaryOp.LeakyRelu, "LeakyRelu", negativeSlope);
        return RecordMasked(y, BinaryOp.LeakyReluBackward, "LeakyReluBackward", this, negativeSlope);
    }

    /// <summary>1 / (1 + e^-x).</summary>
    public Tensor Sigmoid()
    {
        var y = UnaryForward(UnaryOp.Sigmoid, "Sigmoid");
        return RecordMasked(y, BinaryOp.SigmoidBackward, "SigmoidBackward", y);
    }

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh()
    {
        var y = UnaryForward(UnaryOp.Tanh, "Tanh");
        return RecordMasked(y, BinaryOp.TanhBackward, "TanhBackward", y);
    }

    /// <summary>x + value.</summary>
    public Tensor Add(double value) => OpRecording.Note(AddCore(value), "AddScalar", this, null, value);

    private Tensor AddCore(double value)
    {
        var y = UnaryForward(UnaryOp.AddScalar, "Add", value, floatOnly: false);
        return Engine.NeedsGrad(this) ? Engine.Record(new ScaleBackward(1, "AddBackward"), y, this) : y;
    }

    /// <summary>x - value.</summary>
    public Tensor Sub(double value) => Add(-value);

    /// <summary>x * value.</summary>
    public Tensor Mul(double value) => OpRecording.Note(MulCore(value), "MulScalar", this, null, value);

    private Tensor MulCore(double value)
    {
        var y = UnaryForward(UnaryOp.MulScalar, "Mul", value, floatOnly: false);
        return Engine.NeedsGrad(this) ? Engine.Record(new ScaleBackward(value, "MulBackward"), y, this) : y;
    }

    /// <summary>x / value.</summary>
    public Tensor Div(double value)
    {
        CheckFloatingPoint("Div");
        return Mul(1.0 / value);
    }

    /// <summary>value - x.</summary>
    public Tensor RSub(double value)
    {
        var y = UnaryForward(UnaryOp.RSubScalar, "RSub", value, floatOnly: false);
        return Engine.NeedsGrad(this) ? Engine.Record(new ScaleBackward(-1, "RsubBackward"), y, this) : y;
    }

    /// <summary>value / x.</summary>
    public Tensor RDiv(double value)
    {
        var y = UnaryForward(UnaryOp.RDivScalar, "RDiv", value);
        if (!Engine.NeedsGrad(this)) return y;
        var node = new RDivBackward(value);
        node.SavedArg = node.Save(this);
        return Engine.Record(node, y, this);
    }

    private Tensor RecordMasked(Tensor y, BinaryOp backwardOp, string name, Tensor saved, double p = 0, double q = 0)
    {
        if (!Engine.NeedsGrad(this)) return y;
        var node = new MaskedBackward(name, backwardOp, p, q);
        node.SavedArg = node.Save(saved);
        return Engine.Record(node, y, this);
    }

    /// <summary>Node with one saved tensor.</summary>
    internal abstract class SavedArgNode : Node
    {
        public SavedTensor? SavedArg;
        protected Tensor Arg => SavedArg!.Get();
    }

    private sealed class ScaleBackward(double factor, string name) : Node
    {
        public override string Name => name;
        internal override Tensor?[] Apply(Tensor grad) => [factor == 1 ? grad.Alias() : grad.Mul(factor)];
    }

    /// <summary>grad (op) saved: exp uses g * y, log uses g / x.</summary>
    private sealed class GradTimesBackward(string name, BinaryOp op) : SavedArgNode
    {
        public override string Name => name;
        internal override Tensor?[] Apply(Tensor grad) => [BinaryForward(op, grad, Arg, name)];
    }

    /// <summary>Backward ops fused in one elementwise kernel: relu, leaky relu, sigmoid, tanh, abs, clamp.</summary>
    private sealed class MaskedBackward(string name, BinaryOp op, double p, double q) : SavedArgNode
    {
        public override string Name => name;
        internal override Tensor?[] Apply(Tensor grad)
        {
            var dx = grad.EmptyLike(grad._shape);
            grad.Backend.Binary(op, grad, Arg, dx, p, q);
            return [dx];
        }
    }

    private sealed class SqrtBackward : SavedArgNode
    {
        // d sqrt(x) = 1 / (2 sqrt(x))
        internal override Tensor?[] Apply(Tensor grad)
        {
            using var half = grad.Mul(0.5);
            return [half.Div(Arg)];
        }
    }

    private sealed class RsqrtBackward : SavedArgNode
    {
        // y = x^-1/2, dy/dx = -1/2 x^-3/2 = -1/2 y^3
        internal override Tensor?[] Apply(Tensor grad)
        {
            using var y3 = Arg.Pow(3);
            using var scaled = grad.Mul(-0.5);
            return [scaled.Mul(y3)];
        }
    }

    private sealed class PowBackward(double exponent) : SavedArgNode
    {
        // d x^p = p x^(p-1)
        internal override Tensor?[] Apply(Tensor grad)
        {
            if (exponent == 0) return [grad.ZerosLike()];
            using var d = Arg.Pow(exponent - 1);
            using var scaled = grad.Mul(exponent);
            return [scaled.Mul(d)];
        }
    }

    private sealed class RDivBackward(double value) : SavedArgNode
    {
        // d (c / x) = -c / x^2
        internal override Tensor?[] Apply(Tensor grad)
        {
            using var x2 = Arg.Mul(Arg);
            using var scaled = grad.Mul(-value);
            return [scaled.Div(x2)];
        }
    }
}
