// Quickstart: fits a small two-layer network to y = sin(3x) with autograd and plain SGD,
// printing the loss as it falls. Everything a training step creates lives in a TensorScope,
// so memory goes back at the end of each step.
using Framework;

var g = new Generator(seed: 0);
const int samples = 256, hidden = 32, steps = 1500;
const double lr = 0.1;

using var x = Tensor.Rand([samples, 1], g) * 2.0 - 1.0;
using var target = SinOf(x * 3.0);

// Parameters are leaves that require grad; they live outside any scope.
var w1 = (Tensor.Randn([1, hidden], g) * 1.0).SetRequiresGrad();
var b1 = Tensor.Zeros([hidden]).SetRequiresGrad();
var w2 = (Tensor.Randn([hidden, 1], g) * (1.0 / Math.Sqrt(hidden))).SetRequiresGrad();
var b2 = Tensor.Zeros([1]).SetRequiresGrad();
Tensor[] parameters = [w1, b1, w2, b2];

Console.WriteLine($"Fitting y = sin(3x) with a 1-{hidden}-1 tanh network, {samples} points, SGD lr {lr}");
for (int step = 0; step <= steps; step++)
{
    using var scope = new TensorScope();
    var h = (x.Matmul(w1) + b1).Tanh();
    var y = h.Matmul(w2) + b2;
    var loss = (y - target).Pow(2).Mean();
    loss.Backward();
    using (Tensor.NoGrad())
    {
        foreach (var p in parameters)
        {
            p.SubInPlace(p.Grad! * lr);
            p.Grad!.ZeroInPlace();
        }
    }
    if (step % 150 == 0) Console.WriteLine($"step {step,5}  loss {loss.Item():F6}");
}

// sin through the ops the framework has: sin(z) = 2 tanh(z/2) / (1 + tanh(z/2)^2).
static Tensor SinOf(Tensor z)
{
    using var t = (z * 0.5).Tanh();
    return t * 2.0 / (t * t + 1.0);
}
