#!/usr/bin/env bash
# run.sh: runs the GPU kit (tools/gpu-kit/README.md) on a GPU node: NVIDIA driver present, no .NET SDK,
# no network. Run from the repository root with the prepared kit folder (.gpukit) next to it:
#
#   bash tools/gpu-kit/run.sh
#
# Writes at most 8 files into $OUT and ends within GPU_KIT_BUDGET_S (every step has its own cap):
#   env.txt        nvidia-smi, driver and cuBLAS libraries, python/torch, compute-sanitizer, the kit's runtime
#   ptx-jit.txt    every module through the driver's JIT (GpuKit jit: the project's NativeCudaDriver):
#                  error/info logs, registers, shared/local/const bytes per kernel
#   tests.txt      the native GPU fixtures (TEST_FILTER below) through the MTP test executable
#   digits.txt     Samples/Digits, one epoch on the CPU and one on the device, same seed
#   bench.txt      the norm-gpu suite (BenchmarkDotNet in process) and PyTorch's batch_norm/instance_norm
#                  on the same GPU, side by side (tools/gpu-kit/torch_norms.py; where python3 has torch)
#   sanitizer.txt  compute-sanitizer memcheck and racecheck over a short Digits run (where it exists)
#   summary.txt    one line per step: ok / failed / skipped, and why
# Exit status: 0 when no step failed, 1 otherwise, 2 when the kit is missing.
#
# Environment:
#   OUT               output folder (default: gpukit-out in the current directory)
#   GPU_KIT           the prepared kit folder (default: .gpukit in the repository root)
#   GPU_KIT_DEVICE    cuda (default) or emulated: the PTX interpreter instead of a GPU, the emulated
#                     fixtures, no nvidia-smi, no driver JIT, no sanitizer: the kit's check of itself
#   GPU_KIT_BUDGET_S  the steps' budget in seconds (default 420: with the kill grace of each step the
#                     run stays under 8 minutes; the device tool allows 600)
#   GPU_KIT_FILTER    overrides the test filter

# The tests the kit runs: the device list's categories (Framework.Tests/TestDevices.cs), plus the
# native driver's own tests on a real GPU.
TEST_FILTER_CUDA='TestCategory=CudaNative|FullyQualifiedName~NativeDriverTests'
TEST_FILTER_EMULATED='TestCategory=CudaEmulated'

set -u -o pipefail
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_gcServer=0

T0=$(date +%s)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kit=${GPU_KIT:-$repo/.gpukit}
out=${OUT:-$PWD/gpukit-out}
device=${GPU_KIT_DEVICE:-cuda}
budget=${GPU_KIT_BUDGET_S:-420}
case "$device" in cuda | emulated) ;; *) echo "run.sh: GPU_KIT_DEVICE must be cuda or emulated, got '$device'" >&2; exit 2;; esac
if [ "$device" = cuda ]; then filter=${GPU_KIT_FILTER:-$TEST_FILTER_CUDA}; else filter=${GPU_KIT_FILTER:-$TEST_FILTER_EMULATED}; fi
mkdir -p "$out" || { echo "run.sh: cannot create OUT=$out" >&2; exit 2; }
rm -f "$out"/{env,ptx-jit,tests,digits,bench,sanitizer,summary}.txt

SUMMARY=() FAILED=0
# step NAME ok|failed|skipped DETAIL: one summary line
step() {
  local line; line=$(printf '%-10s %-8s %s' "$1" "$2" "$3")
  SUMMARY+=("$line"); echo "## $line"; [ "$2" = failed ] && FAILED=1; return 0
}
elapsed() { echo $(( $(date +%s) - T0 )); }
# cap CAP: seconds for the next step: CAP, or what is left of the budget less a 10 s reserve; 0 when under 15 s
cap() { local l=$(( budget - $(elapsed) - 10 )); [ "$l" -lt 15 ] && { echo 0; return; }; [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }
# keep a log under 4 MiB (head and tail)
trim() { [ -f "$1" ] && [ "$(stat -c %s "$1")" -gt 4194304 ] && { head -c 2097152 "$1"; printf '\n... [cut] ...\n'; tail -c 2097152 "$1"; } > "$1.cut" && mv "$1.cut" "$1"; return 0; }
finish() {
  { printf '%s\n' "${SUMMARY[@]}"; echo "device $device, elapsed $(elapsed) s of a $budget s budget, outputs in $out"; } > "$out/summary.txt"
  echo; cat "$out/summary.txt"
  exit "$FAILED"
}

# ---- the kit: unpack the archive, use its runtime
[ -f "$kit/kit.tar.xz" ] || { echo "run.sh: no kit at $kit (expected kit.tar.xz): run 'bash tools/gpu-kit/prepare.sh' on a machine with the .NET 10 SDK and carry .gpukit" >&2; exit 2; }
work=$(mktemp -d -t gpukit-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
if ! xz -dc "$kit/kit.tar.xz" | tar -xf - -C "$work"; then
  step kit failed "unpacking $kit/kit.tar.xz failed"; finish
fi
export DOTNET_ROOT=$work/dotnet
dn=$work/dotnet/dotnet
if ! "$dn" --list-runtimes > "$work/runtimes.txt" 2>&1; then
  step kit failed "the kit's dotnet does not start: $(head -c 300 "$work/runtimes.txt")"; finish
fi
step kit ok "unpacked in $(elapsed) s; $(head -1 "$work/runtimes.txt" | cut -d' ' -f1-2); SDKs: $("$dn" --list-sdks 2>/dev/null | wc -l) (none needed)"

# cuBLAS: the bindings load libcublas.so.13 or .12 by name; pip wheels (torch) and toolkits keep theirs
# off the loader path, so the folders that hold one go on LD_LIBRARY_PATH.
cublas=$( { ldconfig -p 2>/dev/null | awk '/libcublas\.so\.[0-9]+ /{print $NF}'
  ls -1 /usr/local/cuda*/lib64/libcublas.so.[0-9]* /usr/local/cuda*/targets/*/lib/libcublas.so.[0-9]* 2>/dev/null
  timeout 30 find /usr/local/lib /usr/lib/python3* /opt -path '*nvidia*' -name 'libcublas.so.[0-9]*' 2>/dev/null
} | grep -E 'libcublas\.so\.1[23]$' | sort -u)
if [ "$device" = cuda ] && [ -n "$cublas" ]; then
  for d in $(echo "$cublas" | xargs -r -n1 dirname | awk '!seen[$0]++'); do
    export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
fi
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)
torch_py=""
for p in $(for c in python3 /usr/bin/python3 /usr/local/bin/python3; do command -v "$c"; done | xargs -r readlink -f | awk '!seen[$0]++'); do
  timeout 30 "$p" -c 'import torch' 2>/dev/null && { torch_py=$p; break; }
done

# ---- 1. environment
{
  echo "# $(date -u +%FT%TZ) on $(uname -n) ($(uname -srm)), GPU_KIT_DEVICE=$device"
  echo; cat "$kit/manifest.txt" 2>/dev/null
  echo; echo "== nvidia-smi"
  if [ "$device" = emulated ]; then echo "skipped: emulated device"
  elif command -v nvidia-smi >/dev/null; then
    timeout 30 nvidia-smi; timeout 30 nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  else echo "nvidia-smi: not found"; fi
  echo; echo "== libraries"
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so' || echo "libcuda: not in the loader cache"
  echo "libcublas found:"; echo "${cublas:-  none}" | sed 's/^/  /'
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "compute-sanitizer: ${sanitizer:-none}"
  echo "python3 with torch: ${torch_py:-none}"
  [ -n "$torch_py" ] && timeout 30 "$torch_py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
  echo; echo "== the kit's .NET (no SDK is used)"; "$dn" --info 2>&1 | head -30
  echo; echo "== machine"; nproc; free -g 2>/dev/null | head -2
} > "$out/env.txt" 2>&1
if [ "$device" = emulated ]; then
  step env ok "GPU_KIT_DEVICE=emulated: nvidia-smi skipped (no GPU is used)"
else
  gpu=$(timeout 30 nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)
  if [ -n "$gpu" ]; then step env ok "$gpu; libcublas: $(echo "$cublas" | grep -oE 'so\.[0-9]+$' | sort -u | tr '\n' ' ')"
  else step env failed "nvidia-smi shows no GPU (see env.txt)"; fi
fi

# ---- 2. every module through the driver's JIT
t=$(cap 90)
{
  if [ "$t" -eq 0 ]; then echo "skipped: no time left"
  elif [ "$device" = emulated ]; then
    echo "emulated device: no NVIDIA driver JIT; the modules go through the interpreter's front end instead"
    timeout -k 5 "$t" "$dn" "$work/tool/GpuKit.dll" jit "$work/ptx" --emulated; echo "(exit $?)"
  else
    timeout -k 5 "$t" "$dn" "$work/tool/GpuKit.dll" jit "$work/ptx"; echo "(exit $?)"
  fi
} > "$out/ptx-jit.txt" 2>&1
res=$(grep -E '^modules: ' "$out/ptx-jit.txt" | tail -1)
if [ "$device" = emulated ]; then
  if grep -q '(exit 0)' "$out/ptx-jit.txt"; then step jit skipped "emulated device has no driver JIT; interpreter front end: $res"
  else step jit failed "interpreter front end: ${res:-no result} $(grep -m1 -E '^FAIL|error|^skipped' "$out/ptx-jit.txt" | cut -c1-200)"; fi
elif grep -q '(exit 0)' "$out/ptx-jit.txt"; then step jit ok "$res"
else step jit failed "${res:-no result}; first: $(grep -m1 -E '^FAIL|error|Exception|^skipped' "$out/ptx-jit.txt" | cut -c1-200)"; fi

# ---- 3. the GPU test fixtures (emulated: the emulated ones)
t=$(cap 200)
{
  echo "filter: $filter"
  if [ "$t" -eq 0 ]; then echo "skipped: no time left"
  else (cd "$work/tests" && timeout -k 10 "$t" "$dn" Framework.Tests.dll --filter "$filter" --progress off --no-ansi --output Detailed --results-directory "$work/results"); echo "(exit $?)"; fi
} > "$out/tests.txt" 2>&1
trim "$out/tests.txt"
num() { grep -oE "^ *$1: *[0-9]+" "$out/tests.txt" | grep -oE '[0-9]+' | tail -1; }
total=$(num total) failed=$(num failed) passed=$(num succeeded) skipped=$(num skipped)
if [ -z "$total" ]; then step tests failed "no test summary ($(grep -oE '\(exit [0-9]+\)|skipped: no time left' "$out/tests.txt" | tail -1)); see tests.txt"
elif [ "${failed:-1}" -ne 0 ]; then step tests failed "$passed passed, $failed failed, $skipped skipped of $total; first: $(grep -m1 -E '^ *failed ' "$out/tests.txt" | cut -c1-160)"
elif [ "$total" -eq 0 ] || [ "${passed:-0}" -eq 0 ] || [ $(( ${skipped:-0} * 10 )) -ge $(( total * 9 )) ]; then
  # Nearly all skipped: the fixtures were ignored (no usable device), which is what the kit is there to rule out.
  step tests failed "$passed passed, $skipped skipped of $total: the fixtures were ignored; first reason: $(grep -m1 -E '^ +OneTimeSetUp: ' "$out/tests.txt" | sed 's/^ *//' | cut -c1-200)"
else step tests ok "$passed passed, 0 failed, $skipped skipped of $total"; fi

# ---- 4. Digits, one epoch on the CPU and one on the device, same seed
limit=(); [ "$device" = emulated ] && limit=(--limit 100)  # the interpreter trains about 10 images a second
devarg=$([ "$device" = emulated ] && echo emulated || echo cuda)
t=$(cap 120)
{
  for d in cpu "$devarg"; do
    echo "===== Digits --device $d --epochs 1 ${limit[*]}"
    if [ "$t" -eq 0 ]; then echo "skipped: no time left"; continue; fi
    timeout -k 5 "$t" "$dn" "$work/digits/Digits.dll" --device "$d" --epochs 1 --seed 0 "${limit[@]}" --out "$work/digits-$d"; echo "(exit $?)"
  done
} > "$out/digits.txt" 2>&1
digit() { awk -v h="===== Digits --device $1 " 'index($0, h) == 1 {on = 1; next} /^=====/ {on = 0} on' "$out/digits.txt" |
  grep -oE "held-out loss [0-9.]+ acc [0-9.]+ %|wall time [0-9.]+ s" | tr '\n' ' '; }
if [ "$(grep -c '(exit 0)' "$out/digits.txt")" -eq 2 ]; then step digits ok "$devarg: $(digit "$devarg")| cpu: $(digit cpu)"
else step digits failed "$(grep -m1 -E '^error|Exception|skipped' "$out/digits.txt" | cut -c1-200); exits: $(grep -oE '\(exit [0-9]+\)' "$out/digits.txt" | tr '\n' ' ')"; fi

# ---- 5. the norm benchmarks next to PyTorch's on the same device
# In process (no SDK to build a job); 100 ms iterations: the GPU kernels take 0.01-1 ms, and the
# 20 norm-gpu cases must fit in a few minutes. The emulated run uses the same options.
bdn=(--job short --iterationTime 100 --inProcess --artifacts "$work/bdn")
{
  if [ "$device" = cuda ]; then
    t=$(cap 200)
    echo "===== Benchmarks norm-gpu ${bdn[*]} (timeout ${t}s)"
    if [ "$t" -gt 0 ]; then
      (cd "$work/bench" && timeout -k 10 "$t" "$dn" Benchmarks.dll norm-gpu "${bdn[@]}"); echo "(exit $?)"
    else echo "skipped: no time left"; fi
    report=$(ls "$work"/bdn/results/*NormGpuBenchmarks*-report.csv 2>/dev/null | head -1)
    torch_args=(--device cuda ${report:+--ours "$report"})
  else
    # No GPU: the in-process BenchmarkDotNet path on one interpreter benchmark, and the interpreter's
    # traffic counts of the norm kernels (what the emulated figures of this project are).
    t=$(cap 60)
    echo "===== Benchmarks --filter *EmulatorSpeedBenchmarks.VectorAdd* ${bdn[*]} (timeout ${t}s)"
    if [ "$t" -gt 0 ]; then (cd "$work/bench" && timeout -k 10 "$t" "$dn" Benchmarks.dll --filter '*EmulatorSpeedBenchmarks.VectorAdd*' "${bdn[@]}"); echo "(exit $?)"
    else echo "skipped: no time left"; fi
    t=$(cap 60)
    echo "===== Benchmarks norm-traffic --quick (timeout ${t}s)"
    if [ "$t" -gt 0 ]; then (cd "$work/bench" && timeout -k 10 "$t" "$dn" Benchmarks.dll norm-traffic --quick); echo "(exit $?)"
    else echo "skipped: no time left"; fi
    torch_args=(--device cpu --quick)
  fi
  t=$(cap 120)
  echo "===== PyTorch batch_norm / instance_norm: torch_norms.py ${torch_args[*]} (timeout ${t}s)"
  if [ -z "$torch_py" ]; then echo "skipped: no python3 with torch here"
  elif [ "$t" -eq 0 ]; then echo "skipped: no time left"
  else timeout -k 5 "$t" "$torch_py" "$repo/tools/gpu-kit/torch_norms.py" "${torch_args[@]}"; echo "(torch exit $?)"; fi
} > "$out/bench.txt" 2>&1
trim "$out/bench.txt"
exits=$(grep -oE '\(exit [0-9]+\)' "$out/bench.txt" | tr '\n' ' ')
if [ "$device" = cuda ]; then rows=$(grep -cE '^\| *(BatchNorm|InstanceNorm)' "$out/bench.txt"); else rows=$(grep -cE '^\| *VectorAdd' "$out/bench.txt"); fi
torch_rc=$(grep -oE '\(torch exit [0-9]+\)' "$out/bench.txt" | grep -oE '[0-9]+')
case "$torch_rc" in
  "") torch_note=$(grep -m1 -E '^skipped: ' "$out/bench.txt" | tail -1 | cut -c10-); torch_note="skipped (${torch_note:-not run})";;
  0) torch_note=$([ -n "${report:-}" ] && echo "side by side with ours" || echo "ran with ${torch_args[*]} (no figures of ours to pair)");;
  3) torch_note="skipped (this torch has no CUDA device)";;
  *) torch_note="failed (torch_norms.py exit $torch_rc)";;
esac
if grep -qE '\(exit [1-9][0-9]*\)' "$out/bench.txt" || [ "$rows" -eq 0 ] || [ "${torch_note#failed}" != "$torch_note" ]; then
  step bench failed "exits: $exits; $rows BenchmarkDotNet rows; torch: $torch_note"
else step bench ok "$rows BenchmarkDotNet rows, exits: $exits; torch: $torch_note"; fi

# ---- 6. compute-sanitizer memcheck and racecheck over a short Digits run (every kernel family it uses)
{
  if [ "$device" = emulated ]; then echo "skipped: emulated device (the interpreter checks bounds and races itself)"
  elif [ -z "$sanitizer" ]; then echo "skipped: no compute-sanitizer on this machine"
  else
    for tool in memcheck racecheck; do
      t=$(cap 90)
      echo "===== compute-sanitizer --tool $tool: Digits --device cuda --epochs 1 --limit 64 (timeout ${t}s)"
      [ "$t" -eq 0 ] && { echo "skipped: no time left"; continue; }
      timeout -k 10 "$t" "$sanitizer" --tool "$tool" --error-exitcode 99 --print-limit 30 \
        "$dn" "$work/digits/Digits.dll" --device cuda --epochs 1 --limit 64 --out "$work/san-$tool"; echo "(exit $?)"
    done
  fi
} > "$out/sanitizer.txt" 2>&1
trim "$out/sanitizer.txt"
if grep -q '^skipped: ' "$out/sanitizer.txt"; then step sanitizer skipped "$(grep -m1 '^skipped: ' "$out/sanitizer.txt" | cut -c10-)"
elif [ "$(grep -c '(exit 0)' "$out/sanitizer.txt")" -eq 2 ]; then step sanitizer ok "memcheck and racecheck: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer.txt" | tr '\n' ' ')"
else step sanitizer failed "$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|\(exit' "$out/sanitizer.txt" | tr '\n' ' ')"; fi

finish
