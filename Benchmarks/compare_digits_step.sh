#!/usr/bin/env bash
# The Digits sample's training step, ours (BenchmarkDotNet) next to PyTorch 1.13 CPU, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project Benchmarks -- --filter '*DigitsStepBenchmarks*' --job short 2>&1 | grep -E '^\|'
/usr/bin/python3 Benchmarks/compare_digits_step.py
