"""PyTorch 1.13 CPU optimizer steps on the same problem as Benchmarks/Optim/OptimBenchmarks.cs
(4M float32 parameters), for the comparison table in Benchmarks/README.md:
    /usr/bin/python3 Benchmarks/compare_optim.py
"""
import time, torch

torch.set_num_threads(2)
n = 4 << 20
p = torch.randn(n, requires_grad=True)
p.grad = torch.randn(n)
for name, opt in [("SgdMomentum", torch.optim.SGD([p], lr=1e-6, momentum=0.9)),
                  ("Adam", torch.optim.Adam([p], lr=1e-6)),
                  ("AdamWAmsgrad", torch.optim.AdamW([p], lr=1e-6, amsgrad=True))]:
    for _ in range(5):
        opt.step()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(20):
            opt.step()
        best = min(best, (time.perf_counter() - t) / 20)
    print(f"PyTorch {torch.__version__} {name}: {best * 1e3:.2f} ms/step (best of 5 x 20)")
