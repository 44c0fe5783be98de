"""Generates ops.json: PyTorch reference values for the op tests.

Run with Debian's python3-torch (CI never needs PyTorch; the JSON is committed):
    /usr/bin/python3 Framework.Tests/Golden/make_golden.py

Every case holds float64 inputs, the output, and the gradients of sum(output * w) for a fixed
random w with respect to each input that requires grad.
"""
import json, os, torch

torch.manual_seed(1234)
D = torch.float64
cases = []

def rnd(*shape, positive=False, lo=None):
    t = torch.randn(shape, dtype=D)
    if positive:
        t = t.abs() + 0.5
    return t

def add(name, fn, inputs, grad=True, int_out=False):
    ins = [x.clone().requires_grad_(grad) for x in inputs]
    y = fn(*ins)
    if isinstance(y, tuple):
        y = y[0]
    case = {"name": name,
            "inputs": [{"shape": list(x.shape), "data": x.detach().flatten().tolist()} for x in ins],
            "output": {"shape": list(y.shape), "data": y.detach().double().flatten().tolist()}}
    if grad and y.requires_grad:
        w = torch.randn(tuple(y.shape), dtype=D)
        (y * w).sum().backward()
        case["cotangent"] = w.flatten().tolist()
        case["grads"] = [x.grad.flatten().tolist() if x.grad is not None else None for x in ins]
    cases.append(case)

# binary with broadcasting
for op, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div),
               ("maximum", torch.maximum), ("minimum", torch.minimum)]:
    add(f"{op}_same", fn, [rnd(3, 4), rnd(3, 4, positive=(op == "div"))])
    add(f"{op}_broadcast_row", fn, [rnd(2, 3, 5), rnd(5, positive=(op == "div"))])
    add(f"{op}_broadcast_both", fn, [rnd(4, 1), rnd(1, 6, positive=(op == "div"))])
    add(f"{op}_scalar_tensor", fn, [rnd(2, 3), rnd(positive=(op == "div"))])
# unary
add("neg", torch.neg, [rnd(2, 5)])
add("exp", torch.exp, [rnd(3, 7)])
add("log", torch.log, [rnd(3, 7, positive=True)])
add("sqrt", torch.sqrt, [rnd(17, positive=True)])
add("rsqrt", torch.rsqrt, [rnd(17, positive=True)])
add("pow3", lambda x: x.pow(3), [rnd(2, 9)])
add("pow_half", lambda x: x.pow(0.5), [rnd(9, positive=True)])
add("pow_neg1_5", lambda x: x.pow(-1.5), [rnd(9, positive=True)])
add("abs", torch.abs, [rnd(4, 4)])
add("clamp", lambda x: x.clamp(-0.5, 0.7), [rnd(5, 5)])
add("relu", torch.relu, [rnd(33)])
add("leaky_relu", lambda x: torch.nn.functional.leaky_relu(x, 0.2), [rnd(33)])
add("sigmoid", torch.sigmoid, [rnd(6, 6)])
add("tanh", torch.tanh, [rnd(6, 6)])
add("add_scalar", lambda x: x + 2.5, [rnd(3, 3)])
add("rsub_scalar", lambda x: 2.5 - x, [rnd(3, 3)])
add("mul_scalar", lambda x: x * -1.5, [rnd(3, 3)])
add("rdiv_scalar", lambda x: 3.0 / x, [rnd(3, 3, positive=True)])
# reductions
x = rnd(3, 4, 5)
add("sum_all", lambda x: x.sum(), [x])
add("sum_dim1", lambda x: x.sum(1), [x])
add("sum_dims02_keep", lambda x: x.sum((0, 2), keepdim=True), [x])
add("mean_all", lambda x: x.mean(), [x])
add("mean_dim2", lambda x: x.mean(2), [x])
add("mean_dim0", lambda x: x.mean(0), [x])
add("var_all", lambda x: x.var(), [x])
add("var_dim1_biased", lambda x: x.var(1, unbiased=False), [x])
add("var_dims01_keep", lambda x: x.var((0, 1), keepdim=True), [x])
add("max_dim1", lambda x: x.max(1)[0], [x])
add("max_dim2_keep", lambda x: x.max(2, keepdim=True)[0], [x])
add("min_dim0", lambda x: x.min(0)[0], [x])
add("max_all", lambda x: x.max(), [x])
# matmul
add("matmul_2d", torch.matmul, [rnd(5, 7), rnd(7, 3)])
add("matmul_batched", torch.matmul, [rnd(2, 4, 3), rnd(2, 3, 5)])
add("matmul_broadcast_batch", torch.matmul, [rnd(2, 1, 4, 3), rnd(3, 3, 2)])
add("matmul_3d_2d", torch.matmul, [rnd(2, 4, 3), rnd(3, 6)])
add("matmul_vec_mat", torch.matmul, [rnd(4), rnd(4, 3)])
add("matmul_mat_vec", torch.matmul, [rnd(3, 4), rnd(4)])
add("matmul_odd", torch.matmul, [rnd(17, 33), rnd(33, 9)])
# softmax
add("softmax_last", lambda x: x.softmax(-1), [rnd(4, 7)])
add("softmax_dim0", lambda x: x.softmax(0), [rnd(4, 7)])
add("log_softmax_last", lambda x: x.log_softmax(-1), [rnd(3, 10)])
add("log_softmax_mid", lambda x: x.log_softmax(1), [rnd(2, 5, 3)])
add("log_softmax_large", lambda x: x.log_softmax(-1), [rnd(2, 6) * 200])
# views and joins
add("transpose_contig", lambda x: x.transpose(0, 1).contiguous() * 1.0, [rnd(3, 4)])
add("permute", lambda x: x.permute(2, 0, 1) * 1.0, [rnd(2, 3, 4)])
add("expand", lambda x: x.expand(3, 4) * 1.0, [rnd(1, 4)])
add("narrow", lambda x: x.narrow(1, 1, 2) * 1.0, [rnd(3, 4)])
add("slice_step", lambda x: x[:, 1:7:2] * 1.0, [rnd(2, 8)])
add("select", lambda x: x[1] * 1.0, [rnd(3, 4)])
add("reshape_noncontig", lambda x: x.t().reshape(-1) * 1.0, [rnd(3, 4)])
add("cat_dim1", lambda a, b: torch.cat([a, b], 1), [rnd(2, 3), rnd(2, 5)])
add("stack_dim1", lambda a, b: torch.stack([a, b], 1), [rnd(2, 3), rnd(2, 3)])
add("where", lambda a, b: torch.where(a > 0, a, b), [rnd(3, 5), rnd(3, 5)])
add("squeeze_unsqueeze", lambda x: x.unsqueeze(1).squeeze() * 1.0, [rnd(3, 4)])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases to {out}")
