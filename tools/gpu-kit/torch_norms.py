#!/usr/bin/env python3
"""PyTorch's batch_norm / instance_norm timed on this machine, at the shapes and phases of the
Benchmarks `norm-gpu` suite (Benchmarks/Cuda/NormGpuBenchmarks.cs), float32, printed next to ours
when given that suite's BenchmarkDotNet CSV report (--ours).

GB/s are effective bandwidths at the floor traffic of each phase (float32: training forward reads x
twice and writes y, 12 B/element; eval forward 8 B; backward reads x and dy twice and writes dx,
20 B), the same bytes for both sides, so the ratio of the GB/s is the inverse ratio of the times.
The backward phases are timed alone (autograd.grad over a kept graph), as ours are.

Usage: torch_norms.py [--device cuda|cpu] [--quick] [--ours REPORT.csv]
"""
import argparse
import csv
import re
import statistics
import sys
import time

SHAPES = [(32, 64, 56, 56), (8, 32, 128, 128), (64, 256, 14, 14), (16, 3, 256, 256)]
PHASES = [  # (name in NormGpuBenchmarks, floor bytes per float32 element)
    ("BatchNormForward", 12), ("BatchNormForwardEval", 8), ("BatchNormBackward", 20),
    ("InstanceNormForward", 12), ("InstanceNormBackward", 20)]
UNITS = {"ns": 1e-6, "us": 1e-3, "μs": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3}


def read_ours(path):
    """{(method, 'NxCxHxW'): median ms} from a BenchmarkDotNet CSV report."""
    ours = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            cell = row.get("Median") or row.get("Mean") or ""
            m = re.match(r"\s*([0-9.,]+)\s*(ns|us|μs|µs|ms|s)\s*$", cell)
            if m:
                ours[(row["Method"], row["Shape"])] = float(m.group(1).replace(",", "")) * UNITS[m.group(2)]
    return ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--quick", action="store_true", help="N/8 and few repetitions (a check of the script itself)")
    ap.add_argument("--ours", help="BenchmarkDotNet CSV report of the norm-gpu suite")
    a = ap.parse_args()
    import torch
    import torch.nn.functional as F
    dev = torch.device(a.device)
    if a.device == "cuda" and not torch.cuda.is_available():
        print(f"torch {torch.__version__} has no usable CUDA device here", file=sys.stderr)
        return 3
    torch.backends.cudnn.benchmark = True
    reps, warm = (5, 2) if a.quick else (50, 10)

    def timed(fn):
        for _ in range(warm):
            fn()
        ts = []
        for _ in range(reps):
            if a.device == "cuda":
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record(); fn(); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
            else:
                t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1e3)
        return statistics.median(ts)

    name = torch.cuda.get_device_name() if a.device == "cuda" else "cpu"
    cudnn = torch.backends.cudnn.version() if a.device == "cuda" else None
    print(f"torch {torch.__version__} on {name}" + (f", cuDNN {cudnn}" if cudnn else "") + ("  (--quick: N/8)" if a.quick else ""))
    ours = read_ours(a.ours) if a.ours else {}
    if a.ours:
        print(f"ours: {len(ours)} rows from {a.ours}")
    print(f"{'phase':22s} {'shape':16s} {'torch ms':>9s} {'GB/s':>7s} {'ours ms':>9s} {'GB/s':>7s} {'ours/torch':>10s}")
    for shape in SHAPES:
        n = max(1, shape[0] // 8) if a.quick else shape[0]
        c, h, w = shape[1:]
        x = torch.randn(n, c, h, w, device=dev, requires_grad=True)
        dy = torch.randn(n, c, h, w, device=dev)
        g = torch.ones(c, device=dev, requires_grad=True)
        b = torch.zeros(c, device=dev, requires_grad=True)
        rm, rv = torch.zeros(c, device=dev), torch.ones(c, device=dev)
        with torch.no_grad():
            bn_train = lambda: F.batch_norm(x, rm, rv, g, b, True, 0.1, 1e-5)
            bn_eval = lambda: F.batch_norm(x, rm, rv, g, b, False, 0.1, 1e-5)
            inorm = lambda: F.instance_norm(x, weight=g, bias=b, eps=1e-5)
            fwd = {"BatchNormForward": timed(bn_train), "BatchNormForwardEval": timed(bn_eval), "InstanceNormForward": timed(inorm)}
        y_bn = F.batch_norm(x, rm, rv, g, b, True, 0.1, 1e-5)
        y_in = F.instance_norm(x, weight=g, bias=b, eps=1e-5)
        fwd["BatchNormBackward"] = timed(lambda: torch.autograd.grad(y_bn, (x, g, b), dy, retain_graph=True))
        fwd["InstanceNormBackward"] = timed(lambda: torch.autograd.grad(y_in, (x, g, b), dy, retain_graph=True))
        elems = n * c * h * w
        key = f"{shape[0]}x{c}x{h}x{w}"
        for phase, bpe in PHASES:
            t = fwd[phase]
            gbs = bpe * elems / t / 1e6
            line = f"{phase:22s} {f'({n},{c},{h},{w})':16s} {t:9.3f} {gbs:7.0f}"
            if (phase, key) in ours and not a.quick:
                o = ours[(phase, key)]
                line += f" {o:9.3f} {bpe * elems / o / 1e6:7.0f} {t / o:9.2f}x"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
