#!/usr/bin/env bash
# A short, bounded fuzzing campaign over every parser that reads untrusted input:
#   tools/fuzz/run.sh [seconds-per-parser (default 60)] [target ...]
# Builds the harness (tools/fuzz), instruments the parsers' assemblies with SharpFuzz, then runs AFL++
# on each target from its committed seed corpus (Framework.Tests/Fuzz/Corpus/TARGET). Fails on any
# crash (an exception other than the target's documented ones, see Framework.Tests/Fuzz/FuzzTargets.cs)
# and on any hang that still hangs when replayed with ten times the time limit. Findings are copied to
# fuzz-findings/TARGET/ for Framework.Tests/Fuzz/Findings. Needs afl++ (Debian package; installed here
# when missing and running as root) and the .NET SDK.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors checkpoint idx digits-csv ptx)
timeout_ms=${FUZZ_TIMEOUT_MS:-5000}

if ! command -v afl-fuzz >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: installing afl++" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
  else
    echo "fuzz: afl-fuzz not found; install afl++ (Debian: apt-get install afl++)" >&2
    exit 1
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/framework-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
bin="$work/bin"
dotnet tool restore >/dev/null
dotnet build tools/fuzz/Fuzz.csproj -c Release -o "$bin" -v quiet -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
# Instrument the copies in $bin only (SharpFuzz rewrites them in place): the parsers' assemblies and the
# sample that reads checkpoint metadata.
for asm in Framework.dll Framework.Cuda.Emulator.dll Digits.dll; do
  dotnet sharpfuzz "$bin/$asm" >/dev/null
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=60000 AFL_QUIET=1
export TMPDIR="$work" DOTNET_EnableDiagnostics=0  # the harness's temporary input files; no debugger pipes
failed=0
printf '%-12s %10s %8s %8s %8s\n' target executions paths crashes hangs
for t in "${targets[@]}"; do
  out="$work/out-$t"
  FUZZ_WARMUP_DIR="Framework.Tests/Fuzz/Corpus/$t" afl-fuzz -i "Framework.Tests/Fuzz/Corpus/$t" -o "$out" -t "$timeout_ms" -m none -V "$seconds" -- dotnet "$bin/Fuzz.dll" "$t" \
    >"$work/afl-$t.log" 2>&1 || { echo "fuzz: afl-fuzz failed on $t:" >&2; tail -n 30 "$work/afl-$t.log" >&2; failed=1; continue; }
  stats="$out/default/fuzzer_stats"
  get() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
  printf '%-12s %10s %8s %8s %8s\n' "$t" "$(get execs_done)" "$(get corpus_count)" "$crashes" "$hangs"
  mkdir -p "fuzz-findings/$t"
  for f in "$out"/default/crashes/id:* ; do
    [ -e "$f" ] || continue
    failed=1
    name="crash-$(sha1sum "$f" | cut -c1-12)"
    cp "$f" "fuzz-findings/$t/$name"
    echo "fuzz: $t crash, input saved as fuzz-findings/$t/$name; replay: dotnet $bin/Fuzz.dll $t < fuzz-findings/$t/$name" >&2
    timeout 60 dotnet "$bin/Fuzz.dll" "$t" <"$f" 2>&1 | head -n 5 >&2 || true
  done
  for f in "$out"/default/hangs/id:* ; do
    [ -e "$f" ] || continue
    # AFL's limit is tight on a loaded machine; a real hang still hangs with ten times the time.
    if timeout $((timeout_ms * 10 / 1000 + 1)) dotnet "$bin/Fuzz.dll" "$t" <"$f" >/dev/null 2>&1; then continue; fi
    failed=1
    name="hang-$(sha1sum "$f" | cut -c1-12)"
    cp "$f" "fuzz-findings/$t/$name"
    echo "fuzz: $t hang, input saved as fuzz-findings/$t/$name" >&2
  done
  rmdir "fuzz-findings/$t" 2>/dev/null || true
done
rmdir fuzz-findings 2>/dev/null || true
if [ "$failed" -ne 0 ]; then echo "fuzz: FAILED" >&2; exit 1; fi
echo "fuzz: no crashes or hangs in ${seconds} s per parser"
