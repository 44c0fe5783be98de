using Framework.Autograd;

namespace Framework;

// Matrix products. Inputs are brought to contiguous [batch, rows, cols] form; batch dims broadcast.
// A 2-D right operand is folded into the rows of the left one (one big GEMM instead of a loop).
// Backward uses the GEMM's transpose flags instead of materialising transposes:
// dA = dC * B^T, dB = A^T * dC.
public sealed partial class Tensor
{
    /// <summary>Matrix product with PyTorch's rules: 1-D operands are promoted and the added dim removed; batch dims broadcast.</summary>
    public Tensor Matmul(Tensor other) => OpRecording.Note(MatmulCore(other), "Matmul", this, other);

    private Tensor MatmulCore(Tensor other)
    {
        CheckSameKind(other, "Matmul");
        CheckFloatingPoint("Matmul");
        if (Dim == 0 || other.Dim == 0)
            throw new ArgumentException($"Matmul: both arguments need at least 1 dimension, got {Dim}D and {other.Dim}D");
        if (Dim == 1)
        {
            using var a2 = Unsqueeze(0);
            using var r = a2.Matmul(other);
            // The row dim added to a is -2 of r, or r's only dim when other is a vector too (a dot product).
            return r.Squeeze(other.Dim == 1 ? -1 : -2).OwnedBy(r);
        }
        if (other.Dim == 1)
        {
            using var b2 = other.Unsqueeze(1);
            using var r = Matmul(b2);
            return r.Squeeze(-1).OwnedBy(r);
        }
        int m = _shape[^2], k = _shape[^1], k2 = other._shape[^2], n = other._shape[^1];
        if (k != k2)
            throw new ArgumentException(
                $"Matmul: shapes {Shapes.Format(_shape)} and {Shapes.Format(other._shape)} cannot be multiplied ({m}x{k} and {k2}x{n})");
        var batchA = _shape[..^2];
        var batchB = other._shape[..^2];
        var batch = Shapes.Broadcast(batchA, batchB, "Matmul");
        int[] outShape = [.. batch, m, n];
        Shapes.Numel(outShape, "Matmul output");
        Tensor y;
        if (other.Dim == 2)
        {
            // [..., M, K] x [K, N]: fold every batch row into one [B*M, K] x [K, N] product.
            long rows = Numel / Math.Max(1, k);
            using var a = Reshape3(this, 1, Shapes.ToSize(k == 0 ? Shapes.Numel(batchA) * m : rows, "Matmul", "the rows of the first operand (batch * M)"), k);
            using var b = Reshape3(other, 1, k, n);
            y = Empty(outShape, DType, Device);
            using var c = y.AsStridedAlias([1, (int)(Shapes.Numel(outShape) / Math.Max(1, n)), n], [0, n, 1], 0);
            Backend.Matmul(a, b, c, false, false, false);
        }
        else
        {
            int bsz = Shapes.ToSize(Shapes.Numel(batch, "Matmul"), "Matmul", "the broadcast batch size");
            using var ea = Expand([.. batch, m, k]);
            using var eb = other.Expand([.. batch, k, n]);
            using var a = Reshape3(ea, bsz, m, k);
            using var b = Reshape3(eb, bsz, k, n);
            y = Empty(outShape, DType, Device);
            using var c = y.AsStridedAlias([bsz, m, n], [(long)m * n, n, 1], 0);
            Backend.Matmul(a, b, c, false, false, false);
        }
        if (!Engine.NeedsGrad(this, other)) return y;
        var node = new MatmulBackward(_shape, other._shape);
        if (other.RequiresGrad) node.A = node.Save(this);
        if (RequiresGrad) node.B = node.Save(other);
        return Engine.Record(node, y, this, other);
    }

    /// <summary>A contiguous, unscoped, unrecorded [b, r, c] view (copying when needed) for the backend.</summary>
    private static Tensor Reshape3(Tensor t, int b, int r, int c)
    {
        using var owned = t.ContiguousOwned();
        return owned.AsStridedAlias([b, r, c], [(long)r * c, c, 1], owned._offset);
    }

    private sealed class MatmulBackward(int[] aShape, int[] bShape) : Node
    {
        public SavedTensor? A, B;

        internal override Tensor?[] Apply(Tensor grad)
        {
            int k = aShape[^1], n = bShape[^1];
            Tensor? ga = null, gb = null;
            if (B is not null)
            {
                // dA = dC [.., M, N] x B^T [N, K]
                var b = B.Get();
                using var bt = b.Transpose(-1, -2);
                using var full = grad.Matmul(bt);
                ga = full.SumToShape(aShape);
            }
            if (A is not null)
            {
                var a = A.Get();
                if (bShape.Length == 2)
                {
                    // dB = A^T x dC with all batch rows folded: [K, B*M] x [B*M, N], one GEMM with transA.
                    int rows = checked((int)(a.Numel / Math.Max(1, k)));
                    using var a3 = Reshape3(a, 1, rows, k);
                    using var g3 = Reshape3(grad, 1, rows, n);
                    var db = Empty([k, n], grad.DType, grad.Device);
                    using var c = db.AsStridedAlias([1, k, n], [(long)k * n, n, 1], 0);
                    grad.Backend.Matmul(a3, g3, c, transA: true, transB: false, accumulate: false);
                    gb = db;
                }
                else
                {
                    using var at = a.Transpose(-1, -2);
                    using var full = at.Matmul(grad);
                    gb = full.SumToShape(bShape);
                }
            }
            return [ga, gb];
        }
    }
}
