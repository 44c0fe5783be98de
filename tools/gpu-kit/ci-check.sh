#!/usr/bin/env bash
# ci-check.sh: the GPU kit proven end to end on a machine without a GPU (called by .ci/run).
# Prepares the kit into a scratch folder, then runs it with GPU_KIT_DEVICE=emulated and the .NET SDK
# hidden from PATH, so that only the kit's own runtime can run it, as on an air-gapped GPU node.
# Fails when prepare fails, when any step of the run fails, when the SDK could still be found, or
# when the run writes more than 8 files.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
t0=$(date +%s)
echo "== GPU kit check (prepare, then run on the emulated device without the SDK)"

if ! command -v xz >/dev/null; then
  if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xz-utils) >/dev/null ||
      { echo "gpu-kit: installing xz-utils failed"; exit 1; }
  else
    echo "gpu-kit: expected xz on PATH (apt-get install xz-utils), found none"; exit 1
  fi
fi

scratch=$(mktemp -d -t gpukit-ci.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
if ! bash "$repo/tools/gpu-kit/prepare.sh" "$scratch/kit" > "$scratch/prepare.log" 2>&1; then
  tail -40 "$scratch/prepare.log"; echo "gpu-kit: prepare failed"; exit 1
fi
grep -E '^(compressed|uncompressed|runtime|sdk):' "$scratch/kit/manifest.txt"

# Hide the SDK: every PATH folder that holds a dotnet is replaced by a folder of links to all its
# other entries (dotnet usually sits in /usr/bin among everything else the run needs).
path=""
i=0
IFS=: read -ra dirs <<< "$PATH"
for d in "${dirs[@]}"; do
  if [ -e "$d/dotnet" ]; then
    i=$((i + 1)); shadow="$scratch/path$i"; mkdir -p "$shadow"
    for f in "$d"/*; do [ "$(basename "$f")" = dotnet ] || ln -s "$f" "$shadow/" 2>/dev/null; done
    d=$shadow
  fi
  path=${path:+$path:}$d
done
if env -u DOTNET_ROOT PATH="$path" bash -c 'command -v dotnet' >/dev/null; then
  echo "gpu-kit: could not hide the SDK from PATH"; exit 1
fi

out=$scratch/out
env -u DOTNET_ROOT PATH="$path" GPU_KIT="$scratch/kit" OUT="$out" GPU_KIT_DEVICE=emulated \
  bash "$repo/tools/gpu-kit/run.sh" > "$scratch/run.log" 2>&1
rc=$?
cat "$out/summary.txt" 2>/dev/null || tail -40 "$scratch/run.log"
files=$(find "$out" -type f | wc -l)
if [ "$rc" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $(basename "$f") (tail)"; tail -15 "$f"; done
  echo "gpu-kit: run failed (exit $rc)"; exit 1
fi
[ "$files" -le 8 ] || { echo "gpu-kit: the run wrote $files files, expected at most 8"; exit 1; }
echo "gpu-kit: ok, prepare + run in $(( $(date +%s) - t0 )) s, $files output files"
