namespace Framework.Tests.Ops;

/// <summary>The ops of the golden file by name, as functions of their inputs (mirrors make_golden.py).</summary>
internal static class OpRegistry
{
    public static readonly Dictionary<string, Func<Tensor[], Tensor>> Ops = Build();

    private static Dictionary<string, Func<Tensor[], Tensor>> Build()
    {
        var d = new Dictionary<string, Func<Tensor[], Tensor>>();
        void Binary(string name, Func<Tensor, Tensor, Tensor> f)
        {
            foreach (var suffix in new[] { "same", "broadcast_row", "broadcast_both", "scalar_tensor" })
                d[$"{name}_{suffix}"] = x => f(x[0], x[1]);
        }
        Binary("add", (a, b) => a + b);
        Binary("sub", (a, b) => a - b);
        Binary("mul", (a, b) => a * b);
        Binary("div", (a, b) => a / b);
        Binary("maximum", (a, b) => a.Maximum(b));
        Binary("minimum", (a, b) => a.Minimum(b));
        d["neg"] = x => -x[0];
        d["exp"] = x => x[0].Exp();
        d["log"] = x => x[0].Log();
        d["sqrt"] = x => x[0].Sqrt();
        d["rsqrt"] = x => x[0].Rsqrt();
        d["pow3"] = x => x[0].Pow(3);
        d["pow_half"] = x => x[0].Pow(0.5);
        d["pow_neg1_5"] = x => x[0].Pow(-1.5);
        d["abs"] = x => x[0].Abs();
        d["clamp"] = x => x[0].Clamp(-0.5, 0.7);
        d["relu"] = x => x[0].Relu();
        d["leaky_relu"] = x => x[0].LeakyRelu(0.2);
        d["sigmoid"] = x => x[0].Sigmoid();
        d["tanh"] = x => x[0].Tanh();
        d["add_scalar"] = x => x[0] + 2.5;
        d["rsub_scalar"] = x => 2.5 - x[0];
        d["mul_scalar"] = x => x[0] * -1.5;
        d["rdiv_scalar"] = x => 3.0 / x[0];
        d["sum_all"] = x => x[0].Sum();
        d["sum_dim1"] = x => x[0].Sum(1);
        d["sum_dims02_keep"] = x => x[0].Sum([0, 2], keepDim: true);
        d["mean_all"] = x => x[0].Mean();
        d["mean_dim2"] = x => x[0].Mean(2);
        d["mean_dim0"] = x => x[0].Mean(0);
        d["var_all"] = x => x[0].Var();
        d["var_dim1_biased"] = x => x[0].Var(1, unbiased: false);
        d["var_dims01_keep"] = x => x[0].Var([0, 1], keepDim: true);
        d["max_dim1"] = x => x[0].Max(1).Values;
        d["max_dim2_keep"] = x => x[0].Max(2, keepDim: true).Values;
        d["min_dim0"] = x => x[0].Min(0).Values;
        d["max_all"] = x => x[0].Max();
        foreach (var name in new[] { "matmul_2d", "matmul_batched", "matmul_broadcast_batch", "matmul_3d_2d", "matmul_vec_mat", "matmul_mat_vec", "matmul_odd" })
            d[name] = x => x[0].Matmul(x[1]);
        d["softmax_last"] = x => x[0].Softmax(-1);
        d["softmax_dim0"] = x => x[0].Softmax(0);
        d["log_softmax_last"] = x => x[0].LogSoftmax(-1);
        d["log_softmax_mid"] = x => x[0].LogSoftmax(1);
        d["log_softmax_large"] = x => x[0].LogSoftmax(-1);
        d["transpose_contig"] = x => x[0].Transpose(0, 1).Contiguous() * 1.0;
        d["permute"] = x => x[0].Permute(2, 0, 1) * 1.0;
        d["expand"] = x => x[0].Expand(3, 4) * 1.0;
        d["narrow"] = x => x[0].Narrow(1, 1, 2) * 1.0;
        d["slice_step"] = x => x[0].Slice(1, 1, 7, 2) * 1.0;
        d["select"] = x => x[0][1] * 1.0;
        d["reshape_noncontig"] = x => x[0].T.Reshape(-1) * 1.0;
        d["cat_dim1"] = x => Tensor.Cat([x[0], x[1]], 1);
        d["stack_dim1"] = x => Tensor.Stack([x[0], x[1]], 1);
        d["where"] = x => Tensor.Where(x[0].Gt(0), x[0], x[1]);
        d["squeeze_unsqueeze"] = x => x[0].Unsqueeze(1).Squeeze() * 1.0;
        return d;
    }
}
