using System.Text.RegularExpressions;
using CsCheck;
using NUnit.Framework;

namespace Framework.Tests.Properties;

/// <summary>
/// The property harness itself: a planted bug is caught, shrunk, printed and replayable from the printed
/// seed, and the generators really produce what the properties claim to cover (so none passes vacuously).
/// </summary>
[TestFixture]
public partial class PropertyHarnessTests
{
    [GeneratedRegex(@"CsCheck_Seed=(\S+)")]
    private static partial Regex SeedPattern();

    /// <summary>A "sum" that is wrong from 3 elements on: the failure shrinks to a small case that names shape, views and values.</summary>
    [Test]
    public void PlantedBugIsCaughtShrunkPrintedAndReplayable()
    {
        var gen = from shape in Gens.Shape() from x in Gens.OperandOf(shape) select x;
        void Property(Operand x)
        {
            using var scope = new TensorScope();
            var (_, view) = x.Build(Device.Cpu, DType.Float64, false);
            double planted = x.Value(DType.Float64).Data.Sum() + (view.Numel >= 3 ? 1 : 0);
            PropertyRun.Close(view.Sum(), new Ref([], [planted]), DType.Float64, "planted sum");
        }
        var failure = Assert.Throws<CsCheckException>(() => gen.Sample(Property, iter: 200, threads: 1, print: PropertyRun.Print))!;
        TestContext.Out.WriteLine(failure.Message);
        Assert.That(failure.Message, Does.Contain("base ["), "the shrunk case is printed");
        Assert.That(failure.InnerException, Is.TypeOf<PropertyFailure>());
        Assert.That(failure.InnerException!.Message, Does.Contain("planted sum"));
        var seed = SeedPattern().Match(failure.Message);
        Assert.That(seed.Success, Is.True, "the seed is printed");
        Assert.Throws<CsCheckException>(() => gen.Sample(Property, seed: seed.Groups[1].Value, iter: 1, threads: 1, print: PropertyRun.Print),
            "the printed seed replays the failure");
    }

    /// <summary>Over a few thousand cases: every rank 0 to 5, sizes 0, 1 and odd, every kind of view, chains, and broadcasting.</summary>
    [Test]
    public void GeneratorsCoverWhatThePropertiesClaim()
    {
        var ranks = new HashSet<int>();
        var steps = new HashSet<Type>();
        bool zero = false, one = false, odd = false, chain = false, broadcast = false, scalar = false;
        var gen = from shape in Gens.Shape() from b in Gens.BroadcastTo(shape) from x in Gens.OperandOf(shape) select (shape, b, x);
        gen.Sample(c =>
        {
            var (shape, b, x) = c;
            ranks.Add(shape.Length);
            zero |= shape.Contains(0);
            one |= shape.Contains(1);
            odd |= shape.Any(s => s >= 3 && s % 2 == 1);
            scalar |= shape.Length == 0;
            chain |= x.Steps.Count >= 2;
            broadcast |= !b.SequenceEqual(shape);
            foreach (var s in x.Steps) steps.Add(s.GetType());
            if (!x.Shape.SequenceEqual(shape)) throw new PropertyFailure($"operand shape [{string.Join(",", x.Shape)}] is not the target [{string.Join(",", shape)}]");
            if (Ref.Broadcast(b, shape) is not { } s2 || !s2.SequenceEqual(shape)) throw new PropertyFailure($"[{string.Join(",", b)}] does not broadcast to [{string.Join(",", shape)}]");
        }, iter: 3000, threads: 1, print: c => PropertyRun.Print(c));
        Assert.That(ranks, Is.EquivalentTo(new[] { 0, 1, 2, 3, 4, 5 }));
        Assert.That((zero, one, odd, scalar, chain, broadcast), Is.EqualTo((true, true, true, true, true, true)));
        Assert.That(steps.Select(t => t.Name), Is.EquivalentTo(new[]
        {
            nameof(PermuteStep), nameof(TransposeStep), nameof(SliceStep), nameof(ExpandStep), nameof(UnsqueezeStep),
            nameof(SqueezeStep), nameof(SelectStep), nameof(ReshapeStep),
        }));
    }
}
