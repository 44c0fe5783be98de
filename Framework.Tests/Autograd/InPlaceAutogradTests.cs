using NUnit.Framework;

namespace Framework.Tests.Autograd;

/// <summary>
/// Issue 10, items 3 and 9: in-place ops join the graph as in PyTorch when an operand requires grad
/// (float64 gradient checks for every in-place op, also through views), and writes into tensors whose
/// elements share memory (Expand, stride 0) are refused.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class InPlaceAutogradTests : BackendTestBase
{
    public InPlaceAutogradTests(Device device) : base(device) { }

    private const string OverlapMessage = "more than one element of the written-to tensor refers to a single memory location";

    [Test]
    public void InPlaceAddOfAGradOperandIsRecordedAsInPyTorch()
    {
        // The case: PyTorch gives w.grad = 3 (2 through acc, 1 directly); it was 1.
        var w = T([1.0, 2.0, 3.0], [3], requiresGrad: true);
        var acc = Tensor.Zeros([3], DType.Float64, Device);
        int version = acc.Storage.Version;
        acc.AddInPlace(w * 2.0);
        Assert.That(acc.IsLeaf, Is.False, "the in-place result joins the graph");
        Assert.That(acc.RequiresGrad, Is.True);
        Assert.That(acc.GradFn!.Name, Is.EqualTo("AddBackward"));
        Assert.That(acc.Storage.Version, Is.EqualTo(version + 1));
        (acc + w).Sum().Backward();
        Assert.That(D(w.Grad!), Is.EqualTo(new double[] { 3, 3, 3 }));
        Assert.That(D(acc), Is.EqualTo(new double[] { 2, 4, 6 }));
    }

    [Test]
    public void InPlaceUnderNoGradRecordsNothing()
    {
        var w = T([1.0, 2.0], [2], requiresGrad: true);
        var acc = Tensor.Zeros([2], DType.Float64, Device);
        using (Tensor.NoGrad()) acc.AddInPlace(w);
        Assert.That(acc.IsLeaf, Is.True);
        Assert.That(acc.RequiresGrad, Is.False);
    }

    [Test]
    public void InPlaceOnALeafThatRequiresGradIsAnError()
    {
        var w = T([1.0, 2.0], [2], requiresGrad: true);
        var o = T([1.0, 1.0], [2]);
        foreach (var op in new Action[] { () => w.AddInPlace(o), () => w.MulInPlace(2.0), () => w.FillInPlace(0), () => w.CopyFrom(o) })
        {
            var ex = Assert.Throws<InvalidOperationException>(() => op());
            Assert.That(ex!.Message, Does.Contain("leaf tensor that requires grad"));
        }
        var view = w.Slice(0, 0, 1);
        var ex2 = Assert.Throws<InvalidOperationException>(() => view.AddInPlace(1.0));
        Assert.That(ex2!.Message, Does.Contain("view of a leaf tensor that requires grad"));
        Assert.That(D(w), Is.EqualTo(new double[] { 1, 2 }), "nothing was written");
    }

    // Each case: f(x, o) where x is first copied out of place (a non-leaf), then modified in place.
    private static readonly (string Name, Func<Tensor, Tensor, Tensor> Op, int[] OtherShape)[] s_ops =
    [
        ("AddInPlace", (x, o) => x.AddInPlace(o), [2, 3]),
        ("AddInPlace broadcast alpha", (x, o) => x.AddInPlace(o, 2.5), [1, 3]),
        ("SubInPlace", (x, o) => x.SubInPlace(o), [2, 1]),
        ("MulInPlace", (x, o) => x.MulInPlace(o), [2, 3]),
        ("MulInPlace broadcast", (x, o) => x.MulInPlace(o), [3]),
        ("DivInPlace", (x, o) => x.DivInPlace(o), [2, 3]),
        ("DivInPlace broadcast", (x, o) => x.DivInPlace(o), [1, 3]),
        ("CopyFrom", (x, o) => x.CopyFrom(o), [2, 3]),
        ("CopyFrom broadcast", (x, o) => x.CopyFrom(o), [3]),
        ("MulInPlace scalar", (x, o) => x.MulInPlace(-1.5).AddInPlace(o), [2, 3]),
        ("AddInPlace scalar", (x, o) => x.AddInPlace(0.25).MulInPlace(o), [2, 3]),
        ("FillInPlace", (x, o) => x.FillInPlace(2).MulInPlace(o), [2, 3]),
        ("ZeroInPlace", (x, o) => x.ZeroInPlace().AddInPlace(o), [2, 3]),
    ];

    private static IEnumerable<TestCaseData> Ops() => s_ops.Select((c, i) => new TestCaseData(i).SetArgDisplayNames(c.Name));

    private Tensor Positive(Generator g, int[] shape, bool requiresGrad)
    {
        // Away from 0 so that division is well conditioned for the finite differences.
        var r = Randn(g, shape);
        using var noGrad = Tensor.NoGrad();
        var t = r.Abs().Add(0.5);
        return t.SetRequiresGrad(requiresGrad);
    }

    [TestCaseSource(nameof(Ops))]
    public void GradCheckWhenBothSidesRequireGrad(int index)
    {
        var (name, op, otherShape) = s_ops[index];
        var g = new Generator(7);
        var x = Positive(g, [2, 3], true);
        var o = Positive(g, otherShape, true);
        var r = GradCheck.Check(xs => op(xs[0].Mul(1.0), xs[1]), [x, o]);
        Assert.That(r.Passed, Is.True, name + ": " + r);
    }

    [TestCaseSource(nameof(Ops))]
    public void GradCheckWhenOnlyTheOperandRequiresGrad(int index)
    {
        var (name, op, otherShape) = s_ops[index];
        var g = new Generator(8);
        var x = Positive(g, [2, 3], false);
        var o = Positive(g, otherShape, true);
        // x.Clone() does not require grad: only the operand brings the op into the graph (the case).
        var r = GradCheck.Check(xs => op(xs[0].Clone(), xs[1]).Mul(xs[1].Sum()), [x, o]);
        Assert.That(r.Passed, Is.True, name + ": " + r);
    }

    [TestCaseSource(nameof(Ops))]
    public void GradCheckThroughAViewOfTheBase(int index)
    {
        var (name, op, otherShape) = s_ops[index];
        var g = new Generator(9);
        var x = Positive(g, [3, 2, 3], true);
        var o = Positive(g, otherShape, true);
        // The op goes through the view x[1]; the base (rows 0 and 2 untouched) and the view are both used after it.
        var r = GradCheck.Check(xs =>
        {
            var b = xs[0].Mul(1.0);
            var v = b.Select(0, 1);
            op(v, xs[1]);
            return b.Mul(b).Sum().Add(v.Sum());
        }, [x, o]);
        Assert.That(r.Passed, Is.True, name + ": " + r);
    }

    [Test]
    public void InPlaceThroughAViewOfAConstantBase()
    {
        // acc does not require grad; a row of it is filled from w. PyTorch: acc joins the graph (CopySlices).
        var w = T([1.0, 2.0, 3.0], [3], requiresGrad: true);
        var acc = Tensor.Zeros([2, 3], DType.Float64, Device);
        acc.Select(0, 1).AddInPlace(w);
        Assert.That(acc.GradFn!.Name, Is.EqualTo("CopySlices"));
        var c = T([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]);
        (acc * c).Sum().Backward();
        Assert.That(D(w.Grad!), Is.EqualTo(new double[] { 4, 5, 6 }));
    }

    [Test]
    public void AViewTakenBeforeARecordedInPlaceOpOnItsBaseIsRefused()
    {
        // PyTorch regenerates such a view's grad fn; here its old grad fn would miss w, so using it is an error.
        var w = T([1.0, 2.0, 3.0], [3], requiresGrad: true);
        var acc = Tensor.Zeros([2, 3], DType.Float64, Device);
        var early = acc.Select(0, 0);
        acc.Select(0, 0).AddInPlace(w);
        var ex = Assert.Throws<InvalidOperationException>(() => early.Sum());
        Assert.That(ex!.Message, Does.Contain("Take the view again"));
        Assert.Throws<InvalidOperationException>(() => early.Slice(0, 0, 1));
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros([3], DType.Float64, Device).AddInPlace(early));
        using (Tensor.NoGrad()) Assert.That(D(early.Sum())[0], Is.EqualTo(6), "without grad mode a stale view is just data");
        // Taken again, the view carries the op.
        var again = acc.Select(0, 0);
        again.Sum().Backward();
        Assert.That(D(w.Grad!), Is.EqualTo(new double[] { 1, 1, 1 }));
    }

    [Test]
    public void MulInPlaceByItself()
    {
        var w = T([1.0, -2.0, 3.0], [3], requiresGrad: true);
        var x = w * 1.0;
        x.MulInPlace(x);
        x.Sum().Backward();
        Assert.That(D(w.Grad!), Is.EqualTo(new double[] { 2, -4, 6 }));
    }

    [Test]
    public void ASavedTensorOverwrittenByARecordedInPlaceOpIsStillCaught()
    {
        var w = T([1.0, 2.0], [2], requiresGrad: true);
        var h = w * 2.0;
        var y = h.Exp(); // saves its output
        y.AddInPlace(w);  // recorded, and overwrites what Exp saved
        var ex = Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.That(ex!.Message, Does.Contain("modified by an in-place operation"));
    }

    [Test]
    public void WritesIntoExpandedTensorsAreRefused()
    {
        var baseT = T([1.0, 2.0, 3.0], [3, 1]);
        var e = baseT.Expand(3, 4);
        var o = Tensor.Ones([3, 4], DType.Float64, Device);
        foreach (var (name, op) in new (string, Action)[]
                 {
                     ("FillInPlace", () => e.FillInPlace(1)), ("FillInPlace", () => e.ZeroInPlace()),
                     ("AddInPlace", () => e.AddInPlace(o)), ("AddInPlace", () => e.AddInPlace(1.0)),
                     ("SubInPlace", () => e.SubInPlace(o)), ("MulInPlace", () => e.MulInPlace(o)), ("MulInPlace", () => e.MulInPlace(2.0)),
                     ("DivInPlace", () => e.DivInPlace(o)), ("CopyFrom", () => e.CopyFrom(o)),
                     ("Add(out)", () => Tensor.Add(o, o, e)),
                 })
        {
            var ex = Assert.Throws<InvalidOperationException>(() => op(), name);
            Assert.That(ex!.Message, Does.Contain(OverlapMessage).And.Contain(name));
        }
        Assert.That(D(baseT), Is.EqualTo(new double[] { 1, 2, 3 }), "nothing was written");
        var scalarView = Tensor.Zeros([1], DType.Float64, Device).Expand(4);
        Assert.Throws<InvalidOperationException>(() => scalarView.AddInPlace(1.0));
        // A view that expands a size-1 dim to size 1 does not overlap.
        var single = T([5.0], [1]).Expand(1, 1);
        single.AddInPlace(1.0);
        Assert.That(D(single), Is.EqualTo(new double[] { 6 }));
    }

    [Test]
    public void StridedViewsWithoutOverlapStayWritable()
    {
        var x = Tensor.Arange(0, 24, 1, DType.Float64, Device).View(2, 3, 4);
        using (Tensor.NoGrad())
        {
            x.Slice(2, 0, 4, 2).FillInPlace(-1);
            x.Permute(2, 0, 1).Select(0, 1).MulInPlace(10);
            x.Transpose(0, 1).Narrow(0, 1, 1).AddInPlace(100);
        }
        var d = D(x);
        Assert.That(d[0], Is.EqualTo(-1));
        Assert.That(d[1], Is.EqualTo(10));
        Assert.That(d[5], Is.EqualTo(150));
        Assert.That(Shapes.HasInternalOverlap([2, 3], [0, 1]), Is.True);
        Assert.That(Shapes.HasInternalOverlap([2, 3], [2, 1]), Is.True, "rows of 3 with stride 2 overlap");
        Assert.That(Shapes.HasInternalOverlap([2, 3], [3, 1]), Is.False);
        Assert.That(Shapes.HasInternalOverlap([3, 2], [1, 3]), Is.False);
        Assert.That(Shapes.HasInternalOverlap([0, 3], [0, 0]), Is.False, "an empty tensor writes nothing");
    }
}
