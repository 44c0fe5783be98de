using NUnit.Framework;

namespace Framework.Tests.Ops;

/// <summary>Bad input gets an exception that names what was expected and what arrived.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class BadInputTests : BackendTestBase
{
    public BadInputTests(Device device) : base(device) { }

    private static void Throws<TException>(Action code, params string[] fragments) where TException : Exception
    {
        var ex = Assert.Throws<TException>(() => code());
        foreach (var f in fragments) Assert.That(ex!.Message, Does.Contain(f));
    }

    [Test]
    public void ShapeMismatches()
    {
        var a = Tensor.Zeros([2, 3], DType.Float64, Device);
        var b = Tensor.Zeros([4], DType.Float64, Device);
        Throws<ArgumentException>(() => _ = a + b, "[2, 3]", "[4]", "cannot be broadcast");
        Throws<ArgumentException>(() => a.Matmul(Tensor.Zeros([2, 3], DType.Float64, Device)), "2x3 and 2x3");
        Throws<ArgumentException>(() => a.Reshape(4), "[4]", "size 6");
        Throws<ArgumentException>(() => Tensor.Cat([a, b], 0), "has 1 dims, expected 2", "[4]");
        Throws<ArgumentException>(() => a.Expand(4, 3), "size 2", "[4, 3]");
        Throws<ArgumentException>(() => Tensor.FromArray(new double[5], [2, 3]), "[2, 3]", "5 values");
        Throws<ArgumentException>(() => Tensor.Stack([a, a.T], 0), "[2, 3]", "[3, 2]");
    }

    [Test]
    public void DTypeMismatches()
    {
        var a = Tensor.Zeros([2], DType.Float64, Device);
        var b = Tensor.Zeros([2], DType.Float32, Device);
        Throws<ArgumentException>(() => _ = a + b, "float64", "float32");
        Throws<ArgumentException>(() => a.Matmul(b), "float64", "float32");
        var labels = Tensor.Zeros([2], DType.Int64, Device);
        Throws<ArgumentException>(() => labels.Exp(), "floating-point", "int64");
        Throws<ArgumentException>(() => labels.Softmax(0), "floating-point", "int64");
    }

    [Test]
    public void WrongDims()
    {
        var a = Tensor.Zeros([2, 3], DType.Float64, Device);
        Throws<ArgumentOutOfRangeException>(() => a.Sum(2), "[-2, 1]", "got 2");
        Throws<ArgumentOutOfRangeException>(() => a.Softmax(-3), "got -3");
        Throws<ArgumentException>(() => a.Permute(0), "2 dims", "got 1");
        Throws<ArgumentException>(() => a.Permute(0, 0), "repeats");
        Throws<ArgumentException>(() => a.Sum([1, 1]), "more than once");
        Throws<InvalidOperationException>(() => _ = Tensor.Zeros([2, 2, 2], DType.Float64, Device).T, "2D", "3D");
        Throws<ArgumentOutOfRangeException>(() => a.Select(0, 2), "index 2", "size 2");
        Throws<ArgumentOutOfRangeException>(() => a.Narrow(1, 2, 2), "[2, 4)", "size 3");
        Throws<ArgumentException>(() => Tensor.Zeros([-1], DType.Float64, Device), "non-negative");
    }
}
