using System.Globalization;
using System.Text;

namespace Framework;

public sealed partial class Tensor
{
    private const int SummarizeAbove = 1000;
    private const int EdgeItems = 3;

    /// <summary>
    /// PyTorch-style text: the values (summarised with "..." above 1000 elements), then the shape,
    /// dtype, device when not the CPU, and the grad function or requires_grad.
    /// <code>tensor([[1.0000, 2.0000],
    ///         [3.0000, 4.0000]], shape=[2, 2], dtype=float32, grad_fn=&lt;AddBackward&gt;)</code>
    /// </summary>
    public override string ToString()
    {
        if (IsDisposed) return "tensor(<disposed>)";
        double[] values;
        using (var noGrad = NoGrad())
        using (var unscoped = TensorScope.Suppress())
        using (var asDouble = To(DType.Float64).OwnedBy(this))
            values = asDouble.ToArray<double>();
        bool integral = DType == DType.Int64 || Array.TrueForAll(values, v => double.IsFinite(v) && v == Math.Floor(v) && Math.Abs(v) < 1e15);
        bool summarize = values.Length > SummarizeAbove;
        string Fmt(double v)
        {
            if (DType == DType.Int64) return ((long)v).ToString(CultureInfo.InvariantCulture);
            if (double.IsNaN(v)) return "nan";
            if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
            if (integral) return v.ToString("0", CultureInfo.InvariantCulture) + ".";
            double a = Math.Abs(v);
            return a != 0 && (a >= 1e8 || a < 1e-4) ? v.ToString("0.0000e+00", CultureInfo.InvariantCulture) : v.ToString("0.0000", CultureInfo.InvariantCulture);
        }
        var cells = Array.ConvertAll(values, Fmt);
        int width = 0;
        foreach (var c in cells) width = Math.Max(width, c.Length);
        var sb = new StringBuilder("tensor(");
        if (Dim == 0) sb.Append(cells.Length > 0 ? cells[0] : "");
        else AppendDim(sb, cells, 0, 0, width, summarize, "tensor(".Length);
        sb.Append(", shape=").Append(Shapes.Format(_shape));
        sb.Append(", dtype=").Append(DType.Name());
        if (Device != Device.Cpu) sb.Append(", device='").Append(Device).Append('\'');
        if (GradFn is not null) sb.Append(", grad_fn=<").Append(GradFn.Name).Append('>');
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private void AppendDim(StringBuilder sb, string[] cells, int dim, long start, int width, bool summarize, int indent)
    {
        long stride = 1;
        for (int i = dim + 1; i < Dim; i++) stride *= _shape[i];
        int n = _shape[dim];
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (summarize && n > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append(dim == Dim - 1 ? "..., " : "...,\n" + new string(' ', indent + dim + 1));
                i = n - EdgeItems - 1;
                continue;
            }
            if (dim == Dim - 1) sb.Append(cells[start + i].PadLeft(width));
            else AppendDim(sb, cells, dim + 1, start + i * stride, width, summarize, indent);
            if (i < n - 1)
                sb.Append(dim == Dim - 1 ? ", " : "," + new string('\n', Dim - dim - 1) + new string(' ', indent + dim + 1));
        }
        sb.Append(']');
    }
}
