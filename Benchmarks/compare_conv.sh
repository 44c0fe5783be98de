#!/usr/bin/env bash
# Conv2d 64->64 3x3 padding 1 on (32,64,56,56) float32: ours (BenchmarkDotNet, ConvBenchmarks) next to
# PyTorch's CPU kernels in one run: the anchor's forward line (../shared/anchors/torch_ops_cpu.py) and a
# forward+backward measured here the same way (median of 5, 2 threads; dx, dW and db, 3x the forward FLOPs).
# Needs Debian's python3-torch. Usage: bash Benchmarks/compare_conv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet run -c Release --project Benchmarks -- --filter '*ConvBenchmarks*' --job short 2>&1 | grep -E '^\|' || true
echo
echo "PyTorch:"
# The anchor lives in the shared folder next to the checkout (a worktree may sit one level deeper).
anchor=""
for d in .. ../.. ../../..; do [ -f "$d/shared/anchors/torch_ops_cpu.py" ] && { anchor="$d/shared/anchors/torch_ops_cpu.py"; break; }; done
# The processor's own OpenBLAS kernels (see shared/anchors/README.md).
if [ -n "$anchor" ]; then
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$anchor" | grep conv2d
else
  echo "(shared/anchors/torch_ops_cpu.py not found next to the checkout; forward anchor skipped)"
fi
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 - <<'PY'
import time, torch
torch.set_num_threads(2)
conv = torch.nn.Conv2d(64, 64, 3, padding=1)
x = torch.randn(32, 64, 56, 56, requires_grad=True)
dy = torch.ones(32, 64, 56, 56)
def step():
    conv(x).backward(dy)
    conv.zero_grad(set_to_none=True); x.grad = None
step(); step(); ts = []
for _ in range(5):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
t = sorted(ts)[2]
print(f"conv2d 64->64 3x3 on (32,64,56,56) fwd+bwd: {t*1e3:.1f} ms, {3*2*32*64*64*9*56*56/t/1e9:.1f} GFLOP/s")
PY
