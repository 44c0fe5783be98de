#!/usr/bin/env bash
# Ours next to PyTorch's CPU kernels in one run: elementwise add (16M floats) against the
# TensorPrimitives floor, per-op overhead, matmul 256/512/1024, then the PyTorch anchor
# (../shared/anchors/torch_ops_cpu.py). Needs Debian's python3-torch and libopenblas0-pthread.
# Usage: bash Benchmarks/compare_torch_ops.sh [--keep-openblas-coretype]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), cores: $(nproc)"
dotnet run -c Release --project Benchmarks -- --filter '*ElementwiseBenchmarks*' '*OverheadBenchmarks*' '*MatmulBenchmarks*' --job short 2>&1 |
  grep -E '^\|' || true
echo
echo "PyTorch anchor:"
if [ "${1:-}" = "--keep-openblas-coretype" ]; then
  /usr/bin/python3 ../shared/anchors/torch_ops_cpu.py
else
  # The processor's own OpenBLAS kernels (see ../shared/anchors/README.md).
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 ../shared/anchors/torch_ops_cpu.py
fi
