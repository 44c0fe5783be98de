"""Shared by the PyTorch sides of the training-step comparisons: one step and its timing, measured
the same way for every network (5 warm-up steps, then the best of 5 rounds of 10 steps)."""
import time, torch


def train_step(net, opt, x, y):
    loss = torch.nn.functional.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def best_step_seconds(net, opt, x, y):
    for _ in range(5):
        train_step(net, opt, x, y)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(10):
            train_step(net, opt, x, y)
        best = min(best, (time.perf_counter() - t) / 10)
    return best
