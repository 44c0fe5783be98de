"""Generates optim.json: PyTorch 1.13 reference values for SGD, Adam, AdamW and the lr schedules.

Run with Debian's python3-torch (the JSON is committed; CI never needs PyTorch):
    /usr/bin/python3 Framework.Tests/Golden/make_optim_golden.py

Each optimizer case starts from given parameters and feeds given gradients for several steps
(gradients are set directly, so the case tests the update rule alone), recording every parameter
after every step and, at the end, the optimizer's state (momentum buffers / moments). Values are
float64; the C# tests replay them in float64 and float32. Options use this framework's names:
PyTorch's betas pair is beta1/beta2.
"""
import json, math, os, torch

torch.manual_seed(7)
D = torch.float64

def flat(t):
    return t.detach().flatten().tolist()

SHAPES = [(7, 5), (3,), (2, 2, 3)]  # 35 elements: vector body and a tail at every vector width

def run(name, ctor, options, groups=None, steps=5):
    params = [torch.randn(*s, dtype=D).requires_grad_(True) for s in SHAPES]
    case = {"name": name, "optimizer": ctor, "options": options,
            "params": [{"shape": list(p.shape), "init": flat(p)} for p in params],
            "groups": groups or [{"params": list(range(len(params))), "options": {}}], "steps": []}
    torch_groups = []
    for g in case["groups"]:
        tg = {"params": [params[i] for i in g["params"]]}
        tg.update(torch_options(g["options"]))
        torch_groups.append(tg)
    opt = getattr(torch.optim, ctor)(torch_groups, **torch_options(options))
    for _ in range(steps):
        grads = [torch.randn(*p.shape, dtype=D) for p in params]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
        case["steps"].append({"grads": [flat(g) for g in grads], "params": [flat(p) for p in params]})
    state = {}
    for i, p in enumerate(params):
        for k, v in opt.state[p].items():
            if v is None:
                continue  # SGD without momentum keeps momentum_buffer = None
            state[f"state.{i}.{k}"] = float(v) if k == "step" else flat(v)
    case["state"] = state
    cases.append(case)

def torch_options(o):
    o = dict(o)
    if "beta1" in o:
        o["betas"] = (o.pop("beta1"), o.pop("beta2"))
    for flag in ("nesterov", "amsgrad"):
        if flag in o:
            o[flag] = bool(o[flag])
    return o

cases = []
run("sgd_plain", "SGD", {"lr": 0.1})
run("sgd_momentum", "SGD", {"lr": 0.05, "momentum": 0.9})
run("sgd_momentum_dampening_wd", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01})
run("sgd_nesterov_wd", "SGD", {"lr": 0.03, "momentum": 0.9, "nesterov": 1, "weight_decay": 0.05})
run("sgd_groups", "SGD", {"lr": 0.1, "momentum": 0.5},
    groups=[{"params": [0], "options": {}}, {"params": [1, 2], "options": {"lr": 0.01, "weight_decay": 0.1}}])
run("adam_default", "Adam", {"lr": 1e-2})
run("adam_wd_betas", "Adam", {"lr": 5e-3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.1})
run("adam_amsgrad", "Adam", {"lr": 1e-2, "amsgrad": 1})
run("adamw", "AdamW", {"lr": 1e-2, "weight_decay": 0.1})
run("adamw_amsgrad", "AdamW", {"lr": 2e-2, "weight_decay": 0.05, "amsgrad": 1, "beta1": 0.85, "beta2": 0.999})

def schedule(name, make, epochs):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return {"name": name, "lrs": lrs}

schedules = [
    dict(schedule("step_3_half", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12), kind="StepLR", step_size=3, gamma=0.5),
    dict(schedule("cosine_5", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 17), kind="CosineAnnealingLR", t_max=5, eta_min=0.01),
    dict(schedule("cosine_4_zero", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), 9), kind="CosineAnnealingLR", t_max=4, eta_min=0.0),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases, "schedules": schedules}, f)
print(f"wrote {out}: {len(cases)} optimizer cases, {len(schedules)} schedules")
