using CsCheck;
using NUnit.Framework;
using static Framework.Tests.Properties.PropertyRun;

namespace Framework.Tests.Properties;

/// <summary>
/// Properties of the ops that move elements between shapes: matmul (1-D promotion and batch
/// broadcasting), cat, stack, gather and scatter-add, on random shapes and views, against the reference.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class ShapeOpPropertyTests : BackendTestBase
{
    public ShapeOpPropertyTests(Device device) : base(device) { }

    private static Gen<int> Dim => Gen.Frequency((1, Gen.Const(0)), (1, Gen.Const(1)), (4, Gen.Int[2, 5]));

    /// <summary>
    /// torch.matmul's rules: a 1-D left operand is a row (the dim removed after), a 1-D right operand a
    /// column; batch dims broadcast.
    /// </summary>
    [Test]
    public void Matmul()
    {
        var gen =
            from dtype in Gens.DTypes
            from m in Dim
            from k in Dim
            from n in Dim
            from batch in Gens.Shape(0, 2)
            from ba in Gens.BroadcastTo(batch)
            from bb in Gens.BroadcastTo(batch)
            from aVector in Gen.Frequency((1, Gen.Const(true)), (4, Gen.Const(false)))
            from bVector in Gen.Frequency((1, Gen.Const(true)), (4, Gen.Const(false)))
            from a in Gens.OperandOf(aVector ? [k] : [.. ba, m, k])
            from b in Gens.OperandOf(bVector ? [k] : [.. bb, k, n])
            select (dtype, a, b);
        Check(gen, Device, c =>
        {
            var (dtype, a, b) = c;
            var (la, va) = a.Build(Device, dtype, true);
            var (lb, vb) = b.Build(Device, dtype, true);
            var y = va.Matmul(vb);
            Ref ar = a.Value(dtype), br = b.Value(dtype);
            bool aVec = ar.Rank == 1, bVec = br.Rank == 1;
            // Promote to matrices: a [.., m, k], b [.., k, n].
            int[] sa = aVec ? [1, ar.Shape[0]] : ar.Shape, sb = bVec ? [br.Shape[0], 1] : br.Shape;
            int m = sa[^2], k = sa[^1], n = sb[^1];
            var batch = Ref.Broadcast(sa[..^2], sb[..^2])!;
            int[] full = [.. batch, m, n];
            var outR = Ref.Zeros(full);
            var ga = Ref.Zeros(sa);
            var gb = Ref.Zeros(sb);
            var upFull = Upstream(full); // Upstream depends only on element order, which the dropped 1-dims keep.
            for (int o = 0; o < outR.Numel; o++)
            {
                var idx = Ref.Unravel(o, full);
                int i = idx[^2], j = idx[^1];
                var bi = idx[..^2];
                for (int p = 0; p < k; p++)
                {
                    int ai = Ref.BroadcastSource([.. bi, 0, 0], [.. sa[..^2], 1, 1]) * m * k + i * k + p;
                    int bj = Ref.BroadcastSource([.. bi, 0, 0], [.. sb[..^2], 1, 1]) * k * n + p * n + j;
                    outR.Data[o] += ar.Data[ai] * br.Data[bj];
                    ga.Data[ai] += upFull.Data[o] * br.Data[bj];
                    gb.Data[bj] += upFull.Data[o] * ar.Data[ai];
                }
            }
            int[] outShape = [.. batch, .. aVec ? Array.Empty<int>() : [m], .. bVec ? Array.Empty<int>() : [n]];
            var what = $"Matmul [{string.Join(",", ar.Shape)}] x [{string.Join(",", br.Shape)}]";
            Close(y, new Ref(outShape, outR.Data), dtype, what, scale: 4);
            CheckGrads(y, Device, dtype,
            [
                (la, a.BaseGrad(new Ref(ar.Shape, ga.Data)), "a of " + what),
                (lb, b.BaseGrad(new Ref(br.Shape, gb.Data)), "b of " + what),
            ], scale: 4);
        });
    }

    /// <summary>Cat of 1 to 3 operands along a random dim (sizes along it differ), and stack of equal shapes along a new dim.</summary>
    [TestCase(false), TestCase(true)]
    public void CatAndStack(bool stack)
    {
        var gen =
            from dtype in Gens.DTypes
            from shape in Gens.Shape(stack ? 0 : 1, 4)
            from pick in Gen.Int[0, 9]
            from count in Gen.Int[1, 3]
            from negative in Gen.Bool
            from sizes in Gen.Int[0, 4].Array[count]
            from xs in Gens.All(sizes.Select(s => Gens.OperandOf(stack ? shape : Along(shape, pick % shape.Length, s))))
            select (dtype, xs.ToArray(), (negative ? pick % (shape.Length + (stack ? 1 : 0)) - shape.Length - (stack ? 1 : 0) : pick % (shape.Length + (stack ? 1 : 0))));
        Check(gen, Device, c =>
        {
            var (dtype, xs, dim) = c;
            var built = xs.Select(x => x.Build(Device, dtype, true)).ToArray();
            var y = stack ? Tensor.Stack(built.Select(b => b.View).ToArray(), dim) : Tensor.Cat(built.Select(b => b.View).ToArray(), dim);
            var refs = xs.Select(x => x.Value(dtype)).ToArray();
            // Stack is cat of the operands each unsqueezed at dim.
            int rank = refs[0].Rank + (stack ? 1 : 0);
            int d = dim < 0 ? dim + rank : dim;
            var parts = refs.Select(r => stack ? new Ref([.. r.Shape[..d], 1, .. r.Shape[d..]], r.Data) : r).ToArray();
            int[] outShape = (int[])parts[0].Shape.Clone();
            outShape[d] = parts.Sum(p => p.Shape[d]);
            var expected = Ref.Zeros(outShape);
            var up = Upstream(outShape);
            var grads = parts.Select(p => Ref.Zeros(p.Shape)).ToArray();
            for (int o = 0; o < expected.Numel; o++)
            {
                var idx = Ref.Unravel(o, outShape);
                int part = 0, at = idx[d];
                while (at >= parts[part].Shape[d]) at -= parts[part++].Shape[d];
                idx[d] = at;
                int src = Ref.Ravel(idx, parts[part].Shape);
                expected.Data[o] = parts[part].Data[src];
                grads[part].Data[src] += up.Data[o];
            }
            var what = $"{(stack ? "Stack" : "Cat")}(dim {dim}) of {string.Join(", ", refs.Select(r => $"[{string.Join(",", r.Shape)}]"))}";
            Close(y, expected, dtype, what);
            CheckGrads(y, Device, dtype, built.Select((b, i) => (b.Leaf, xs[i].BaseGrad(new Ref(refs[i].Shape, grads[i].Data)), $"operand {i} of {what}")).ToArray());
        });
    }

    private static int[] Along(int[] shape, int dim, int size)
    {
        var s = (int[])shape.Clone();
        s[dim] = size;
        return s;
    }

    /// <summary>
    /// gather(dim, index) and scatter_add(dim, index, src): index has the input's rank, any size along
    /// dim, at most the input's size elsewhere; repeated indices accumulate.
    /// </summary>
    [TestCase(false), TestCase(true)]
    public void GatherAndScatterAdd(bool scatter)
    {
        var gen =
            from dtype in Gens.DTypes
            from shape in Gens.Shape(1, 4)
            from pick in Gen.Int[0, 9]
            let dim = pick % shape.Length
            from indexShape in Gens.All(shape.Select((s, d) => d == dim ? Gen.Int[0, 4] : Gen.Int[0, s]))
            let ishape = shape[dim] == 0 ? indexShape.Select((s, d) => d == dim ? 0 : s).ToArray() : indexShape.ToArray()
            from index in Gen.Int[0, Math.Max(shape[dim] - 1, 0)].Array[Ref.Count(ishape)]
            from x in Gens.OperandOf(shape)
            from src in Gens.OperandOf(ishape)
            select (dtype, x, dim, ishape, index, src);
        Check(gen, Device, c =>
        {
            var (dtype, x, dim, ishape, index, src) = c;
            var (lx, vx) = x.Build(Device, dtype, true);
            var (ls, vs) = src.Build(Device, dtype, true);
            var it = Tensor.FromArray(index.Select(i => (long)i).ToArray(), ishape, Device);
            var y = scatter ? vx.ScatterAdd(dim, it, vs) : vx.Gather(dim, it);
            Ref xr = x.Value(dtype), sr = src.Value(dtype);
            var what = $"{(scatter ? "ScatterAdd" : "Gather")}(dim {dim}, index [{string.Join(",", ishape)}] {{{string.Join(",", index)}}})";
            // Position in x that index element i names.
            int Target(int i)
            {
                var idx = Ref.Unravel(i, ishape);
                idx[dim] = index[i];
                return Ref.Ravel(idx, xr.Shape);
            }
            if (!scatter)
            {
                var expected = new Ref(ishape, Enumerable.Range(0, index.Length).Select(i => xr.Data[Target(i)]).ToArray());
                Close(y, expected, dtype, what);
                var up = Upstream(ishape);
                var gx = Ref.Zeros(xr.Shape);
                for (int i = 0; i < index.Length; i++) gx.Data[Target(i)] += up.Data[i];
                CheckGrads(y, Device, dtype, [(lx, x.BaseGrad(gx), "x of " + what)]);
                return;
            }
            var sum = new Ref(xr.Shape, (double[])xr.Data.Clone());
            for (int i = 0; i < index.Length; i++) sum.Data[Target(i)] += sr.Data[i];
            Close(y, sum, dtype, what, scale: 4);
            var ups = Upstream(xr.Shape);
            var gs = new Ref(ishape, Enumerable.Range(0, index.Length).Select(i => ups.Data[Target(i)]).ToArray());
            CheckGrads(y, Device, dtype, [(lx, x.BaseGrad(ups), "x of " + what), (ls, src.BaseGrad(gs), "src of " + what)]);
        });
    }
}
