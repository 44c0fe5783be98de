"""Generates layers.json: PyTorch reference values for the layer and loss tests.

Run with Debian's python3-torch (CI never needs PyTorch; the JSON is committed):
    /usr/bin/python3 Framework.Tests/Golden/make_layers_golden.py

Each case holds its inputs (float64, or int64 class targets marked "int"), the output, and the
gradients of sum(output * w) for a fixed random w with respect to every float input. The C# side
(LayersRegistry.cs) maps each case name to the same call on our API.
"""
import json, os, torch
import torch.nn.functional as F

torch.manual_seed(4321)
D = torch.float64
cases = []

def rnd(*shape):
    return torch.randn(shape, dtype=D)

def add(name, fn, inputs):
    ins = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    y = fn(*ins)
    w = torch.randn(tuple(y.shape), dtype=D)
    (y * w).sum().backward()
    cases.append({
        "name": name,
        "inputs": [{"shape": list(x.shape), "data": x.detach().flatten().tolist(), "int": not x.is_floating_point()} for x in ins],
        "output": {"shape": list(y.shape), "data": y.detach().flatten().tolist()},
        "cotangent": w.flatten().tolist(),
        "grads": [x.grad.flatten().tolist() if x.grad is not None else None for x in ins],
    })

# Conv2d: stride, padding, dilation, groups, odd and rectangular sizes, 1x1, with and without bias.
add("conv_basic", lambda x, w, b: F.conv2d(x, w, b), [rnd(2, 3, 7, 6), rnd(4, 3, 3, 3), rnd(4)])
add("conv_stride2_pad1", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [rnd(2, 3, 9, 7), rnd(5, 3, 3, 3), rnd(5)])
add("conv_dilation2_pad2", lambda x, w, b: F.conv2d(x, w, b, padding=2, dilation=2), [rnd(1, 2, 8, 9), rnd(3, 2, 3, 3), rnd(3)])
add("conv_groups2_pad1", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), [rnd(2, 4, 5, 5), rnd(6, 2, 3, 3), rnd(6)])
add("conv_depthwise_stride2", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=3), [rnd(1, 3, 6, 5), rnd(3, 1, 3, 3), rnd(3)])
add("conv_rect_nobias", lambda x, w: F.conv2d(x, w, None, stride=(2, 1), padding=(1, 2), dilation=(1, 2)), [rnd(2, 3, 7, 8), rnd(2, 3, 2, 4)])
add("conv_1x1", lambda x, w, b: F.conv2d(x, w, b), [rnd(2, 5, 4, 3), rnd(3, 5, 1, 1), rnd(3)])
add("conv_1x1_stride2", lambda x, w, b: F.conv2d(x, w, b, stride=2), [rnd(2, 5, 5, 5), rnd(3, 5, 1, 1), rnd(3)])
add("conv_stride3_5x5", lambda x, w, b: F.conv2d(x, w, b, stride=3, padding=2), [rnd(3, 2, 11, 10), rnd(4, 2, 5, 5), rnd(4)])
# Pooling with odd sizes, padding, ceil mode, dilation.
add("maxpool_k2", lambda x: F.max_pool2d(x, 2), [rnd(2, 3, 7, 9)])
add("maxpool_k3_s2_p1", lambda x: F.max_pool2d(x, 3, 2, 1), [rnd(1, 2, 9, 7)])
add("maxpool_k3_s2_ceil", lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), [rnd(1, 2, 8, 7)])
add("maxpool_k3_p1_dil2", lambda x: F.max_pool2d(x, 3, 1, 1, dilation=2), [rnd(1, 2, 9, 9)])
add("maxpool_rect", lambda x: F.max_pool2d(x, (2, 3), (1, 2), (1, 1)), [rnd(2, 1, 5, 7)])
add("avgpool_k2", lambda x: F.avg_pool2d(x, 2), [rnd(2, 3, 7, 9)])
add("avgpool_k3_s2_p1", lambda x: F.avg_pool2d(x, 3, 2, 1), [rnd(1, 2, 9, 7)])
add("avgpool_k3_s2_p1_nopad", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [rnd(1, 2, 9, 7)])
add("avgpool_ceil_pad", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [rnd(1, 2, 8, 6)])
add("avgpool_ceil_pad_nopad", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [rnd(1, 2, 8, 6)])
add("avgpool_divisor", lambda x: F.avg_pool2d(x, 2, 1, divisor_override=3), [rnd(1, 2, 5, 4)])
add("adaptive_3x4", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [rnd(2, 3, 7, 9)])
add("adaptive_1", lambda x: F.adaptive_avg_pool2d(x, 1), [rnd(2, 3, 5, 5)])
add("adaptive_up_5x4", lambda x: F.adaptive_avg_pool2d(x, (5, 4)), [rnd(1, 2, 3, 3)])
# Linear.
add("linear", lambda x, w, b: F.linear(x, w, b), [rnd(4, 5), rnd(3, 5), rnd(3)])
add("linear_3d", lambda x, w, b: F.linear(x, w, b), [rnd(2, 3, 5), rnd(7, 5), rnd(7)])
add("linear_nobias", lambda x, w: F.linear(x, w), [rnd(6, 4), rnd(2, 4)])
# Losses: each reduction, label smoothing.
logits, target = rnd(6, 5) * 3, torch.tensor([0, 4, 2, 2, 1, 3])
for red in ("mean", "sum", "none"):
    add(f"ce_{red}", lambda x, t, red=red: F.cross_entropy(x, t, reduction=red), [logits, target])
    add(f"ce_smooth_{red}", lambda x, t, red=red: F.cross_entropy(x, t, reduction=red, label_smoothing=0.2), [logits, target])
    add(f"nll_{red}", lambda x, t, red=red: F.nll_loss(x, t, reduction=red), [F.log_softmax(logits, 1), target])
    add(f"mse_{red}", lambda x, y, red=red: F.mse_loss(x, y, reduction=red), [rnd(3, 4), rnd(3, 4)])
add("ce_large_logits", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), [rnd(3, 4) * 1000, torch.tensor([1, 0, 3])])
# Gather.
add("gather_dim1", lambda x, i: torch.gather(x, 1, i), [rnd(3, 4, 5), torch.randint(0, 4, (3, 2, 5))])
add("gather_dim0_smaller", lambda x, i: torch.gather(x, 0, i), [rnd(4, 3), torch.tensor([[3, 0], [3, 3], [1, 2]])])

# A whole model: PyTorch's own weights loaded through the state dict (keys "0.weight", "1.running_mean", ...),
# one training-mode forward, cross-entropy with label smoothing, backward. Checks keys, semantics and
# the running-statistics update end to end.
torch.manual_seed(99)
nn = torch.nn
net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(2),
                    nn.Flatten(), nn.Linear(24, 5), nn.Tanh()).double()
def tensor_json(t):
    return {"shape": list(t.shape), "data": t.detach().double().flatten().tolist(), "int": not t.is_floating_point()}
state = {k: tensor_json(v) for k, v in net.state_dict().items()}
x = torch.randn(3, 2, 9, 9, dtype=D)
target = torch.tensor([4, 0, 2])
loss = F.cross_entropy(net(x), target, label_smoothing=0.1)
loss.backward()
model = {"state": state, "input": tensor_json(x), "target": tensor_json(target), "loss": loss.item(),
         "grads": {k: tensor_json(p.grad) for k, p in net.named_parameters()},
         "after": {k: tensor_json(v) for k, v in net.state_dict().items() if "running" in k or "num_batches" in k}}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers.json")
with open(out, "w") as f:
    json.dump({"generator": "make_layers_golden.py", "torch": torch.__version__, "cases": cases, "model": model}, f)
print(f"wrote {len(cases)} cases to {out}")
