"""PyTorch 1.13 CPU side of Benchmarks/Layers/ResNetBlockBenchmarks.cs: one SGD training step of a
stem conv-BN-ReLU + one basic residual block + average pool + linear, batch 32, 3x32x32 inputs,
2 threads, best of 5 x 10 steps.
    /usr/bin/python3 Benchmarks/compare_resnet_block.py
"""
import torch
from torch_step import best_step_seconds

torch.set_num_threads(2)
torch.manual_seed(1)


class BasicBlock(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + x)


net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 16, 3, padding=1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
    BasicBlock(16), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
x, y = torch.randn(32, 3, 32, 32), torch.arange(32) % 10


best = best_step_seconds(net, opt, x, y)
print(f"PyTorch {torch.__version__} ResNet-style block, batch 32, 3x32x32: {best * 1e3:.2f} ms per training step")
