using NUnit.Framework;

namespace Framework.Tests.Autograd;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class AutogradTests : BackendTestBase
{
    public AutogradTests(Device device) : base(device) { }

    [Test]
    public void FanOutAccumulates()
    {
        var x = T([2.0, -3.0], [2], requiresGrad: true);
        var y = (x * x + x * 3.0 + x).Sum(); // dy/dx = 2x + 4
        y.Backward();
        Assert.That(D(x.Grad!), Is.EqualTo(new[] { 8.0, -2.0 }));
    }

    [Test]
    public void GradientsAccumulateAcrossBackwardCalls()
    {
        var x = T([1.0, 2.0], [2], requiresGrad: true);
        (x * 2.0).Sum().Backward();
        (x * 3.0).Sum().Backward();
        Assert.That(D(x.Grad!), Is.EqualTo(new[] { 5.0, 5.0 }));
    }

    [Test]
    public void ChainOf100000OpsBackpropagatesWithoutStackOverflow()
    {
        var x = T([1.0], [1], requiresGrad: true);
        var y = x;
        for (int i = 0; i < 100_000; i++) y = y * 1.0 + 0.0;
        y.Sum().Backward();
        Assert.That(D(x.Grad!)[0], Is.EqualTo(1.0));
    }

    [Test]
    public void SecondBackwardThroughReleasedGraphFailsClearly()
    {
        var x = T([1.0, 2.0], [2], requiresGrad: true);
        var y = x.Exp().Sum();
        y.Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.That(ex!.Message, Does.Contain("second time").And.Contain("retainGraph"));
    }

    [Test]
    public void RetainGraphAllowsASecondBackward()
    {
        var x = T([1.0, 2.0], [2], requiresGrad: true);
        var y = x.Exp().Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.That(D(x.Grad!)[1], Is.EqualTo(2 * Math.Exp(2)).Within(1e-12));
    }

    [Test]
    public void InPlaceChangeOfASavedTensorIsRefused()
    {
        var x = T([1.0, 2.0], [2], requiresGrad: true);
        var h = x * 2.0;
        var y = h.Exp(); // saves its output
        using (Tensor.NoGrad()) y.MulInPlace(3.0);
        var ex = Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.That(ex!.Message, Does.Contain("modified by an in-place operation").And.Contain("version 1; expected version 0"));
    }

    [Test]
    public void InPlaceOnATensorThatRequiresGradIsRefusedOutsideNoGrad()
    {
        var x = T([1.0], [1], requiresGrad: true);
        Assert.Throws<InvalidOperationException>(() => x.AddInPlace(1.0));
        using (Tensor.NoGrad()) x.AddInPlace(1.0);
        Assert.That(D(x)[0], Is.EqualTo(2.0));
    }

    [Test]
    public void NoGradRecordsNothing()
    {
        var x = T([1.0], [1], requiresGrad: true);
        Tensor y;
        using (Tensor.NoGrad()) y = x * 2.0;
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.GradFn, Is.Null);
        var z = x * 2.0;
        Assert.That(z.GradFn!.Name, Is.EqualTo("MulBackward"));
    }

    [Test]
    public void DetachCutsTheGraphButSharesMemory()
    {
        var x = T([1.0, 2.0], [2], requiresGrad: true);
        var d = x.Detach();
        Assert.That(d.RequiresGrad, Is.False);
        Assert.That(d.Storage, Is.SameAs(x.Storage));
    }

    [Test]
    public void BackwardOfNonScalarNeedsAGradient()
    {
        var x = T([1.0, 2.0], [2], requiresGrad: true);
        var y = x * 2.0;
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.That(ex!.Message, Does.Contain("scalar outputs").And.Contain("[2]"));
        y.Backward(T([1.0, 10.0], [2]));
        Assert.That(D(x.Grad!), Is.EqualTo(new[] { 2.0, 20.0 }));
    }

    [Test]
    public void BackwardOfATensorThatDoesNotRequireGradFails()
    {
        var x = T([1.0], [1]);
        Assert.Throws<InvalidOperationException>(() => x.Sum().Backward());
    }

    [Test]
    public void OnlyLeavesCanChangeRequiresGrad()
    {
        var x = T([1.0], [1], requiresGrad: true);
        var y = x * 2.0;
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros([2], DType.Int64, Device).RequiresGrad = true);
    }

    [Test]
    public void GradientThroughAViewReachesTheBase()
    {
        var x = T([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3], requiresGrad: true);
        x.T.Narrow(0, 1, 2).Sum().Backward();
        Assert.That(D(x.Grad!), Is.EqualTo(new[] { 0.0, 1, 1, 0, 1, 1 }));
    }

    [Test]
    public void BackwardTimeFor100OpChainIsLinear()
    {
        // Not a timing assertion: a 100-op chain and a 1000-op chain both backpropagate and agree.
        foreach (int n in new[] { 100, 1000 })
        {
            var x = T([0.5], [1], requiresGrad: true);
            var y = x;
            for (int i = 0; i < n; i++) y = y.Tanh() + x;
            y.Sum().Backward();
            Assert.That(double.IsFinite(D(x.Grad!)[0]), Is.True);
        }
    }
}
