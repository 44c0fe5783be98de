"""Generates norms.json: PyTorch 1.13 reference values for BatchNorm2d / InstanceNorm2d.

Run with Debian's python3-torch (the JSON is committed; CI never needs PyTorch):
    /usr/bin/python3 Framework.Tests/Golden/make_norm_golden.py

Each case runs a module through a few training steps (recording every output and the running
statistics after each), then optionally an eval step; gradients are those of sum(y * w) for the
last step with respect to the input, weight and bias. Values are float64.
"""
import json, os, torch

torch.manual_seed(2024)
D = torch.float64
cases = []

def flat(t):
    return t.detach().flatten().tolist()

def run(name, module, shapes, eval_shape=None, affine_init=True):
    m = module.double()
    if affine_init and m.affine:
        with torch.no_grad():
            m.weight.copy_(torch.randn(m.num_features, dtype=D) * 0.5 + 1)
            m.bias.copy_(torch.randn(m.num_features, dtype=D) * 0.5)
    case = {"name": name, "module": type(m).__name__, "num_features": m.num_features,
            "momentum": m.momentum, "affine": m.affine, "track": m.track_running_stats, "eps": m.eps,
            "weight": flat(m.weight) if m.affine else None, "bias": flat(m.bias) if m.affine else None,
            "steps": []}
    m.train()
    phases = [("train", s) for s in shapes] + ([("eval", eval_shape)] if eval_shape else [])
    for i, (mode, shape) in enumerate(phases):
        if mode == "eval":
            m.eval()
        x = (torch.randn(*shape, dtype=D) * 2 + 0.5).requires_grad_(True)
        y = m(x)
        w = torch.randn(*y.shape, dtype=D)
        if m.affine:
            m.weight.grad = None; m.bias.grad = None
        (y * w).sum().backward()
        step = {"mode": mode, "shape": list(shape), "x": flat(x), "y": flat(y), "w": flat(w), "dx": flat(x.grad)}
        if m.affine:
            step["dweight"] = flat(m.weight.grad); step["dbias"] = flat(m.bias.grad)
        if m.track_running_stats:
            step["running_mean"] = flat(m.running_mean); step["running_var"] = flat(m.running_var)
            step["num_batches_tracked"] = int(m.num_batches_tracked)
        case["steps"].append(step)
    cases.append(case)

S = (2, 3, 4, 5)
for mom in (0.1, 0.0, 1.0, None):
    run(f"bn_momentum_{mom}", torch.nn.BatchNorm2d(3, momentum=mom), [S, S, (4, 3, 2, 3)], eval_shape=(3, 3, 4, 5))
run("bn_no_affine", torch.nn.BatchNorm2d(3, affine=False), [S], eval_shape=S)
run("bn_untracked_eval_uses_batch", torch.nn.BatchNorm2d(3, track_running_stats=False), [S], eval_shape=S)
run("bn_odd", torch.nn.BatchNorm2d(5, momentum=0.3), [(3, 5, 7, 9)], eval_shape=(1, 5, 3, 3))
run("bn_n1_hw2", torch.nn.BatchNorm2d(2), [(1, 2, 1, 2)], eval_shape=(1, 2, 1, 2))
run("in_affine", torch.nn.InstanceNorm2d(3, affine=True), [S], eval_shape=S)
run("in_no_affine", torch.nn.InstanceNorm2d(3, affine=False), [S])
run("in_tracked", torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.1), [S, S, (4, 3, 2, 3)], eval_shape=S)
run("in_tracked_mom1", torch.nn.InstanceNorm2d(4, affine=True, track_running_stats=True, momentum=1.0), [(2, 4, 3, 3)], eval_shape=(2, 4, 3, 3))
run("in_odd", torch.nn.InstanceNorm2d(5, affine=True), [(3, 5, 7, 9)])
run("in_hw2", torch.nn.InstanceNorm2d(1, affine=True), [(1, 1, 2, 1)])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "norms.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases to {out}")
