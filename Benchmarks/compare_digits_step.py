"""PyTorch 1.13 CPU side of Benchmarks/Optim/DigitsStepBenchmarks.cs: one training step of the Digits
sample's network (batch 32, Adam) on 8x8 and 28x28 inputs, 2 threads, best of 5 x 10 steps.
    /usr/bin/python3 Benchmarks/compare_digits_step.py
"""
import torch
from torch_step import best_step_seconds

torch.set_num_threads(2)
for hw in (8, 28):
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.InstanceNorm2d(32, affine=True), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32 * (hw // 2) ** 2, 10))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = torch.rand(32, 1, hw, hw), torch.arange(32) % 10

    best = best_step_seconds(net, opt, x, y)
    print(f"PyTorch {torch.__version__} Digits network, {hw}x{hw}, batch 32: {best * 1e3:.2f} ms per training step")
