#!/usr/bin/env bash
# prepare.sh: builds the GPU kit (tools/gpu-kit/README.md) on a machine with the .NET 10 SDK; no GPU needed.
#
#   bash tools/gpu-kit/prepare.sh [KIT_DIR]      (default KIT_DIR: .gpukit in the repository root)
#
# KIT_DIR then holds kit.tar.xz and manifest.txt, at most 60 MiB together (checked). The archive holds
# framework-dependent linux-x64 builds that need only the .NET runtime, plus that runtime:
#   tests/   Framework.Tests as a self-running Microsoft.Testing.Platform executable (-p:GpuKit=true)
#   digits/  the Digits sample
#   bench/   Benchmarks (BenchmarkDotNet runs them in process there: no SDK to build a job)
#   tool/    GpuKit (tools/gpu-kit/GpuKit): PTX dump and the driver-JIT check
#   ptx/     every assembled module exactly as cuModuleLoadDataEx receives it (GpuKit dump-ptx)
#   dotnet/  the dotnet muxer, host/fxr and shared/Microsoft.NETCore.App/10.x copied from this SDK's install
# The build runs on a copy of the working tree (tracked and untracked, not ignored files), so the
# repository's own bin/ and obj/ (and a later `dotnet test --no-build`) are left alone.
set -euo pipefail
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

LIMIT_MIB=60  # the device tool carries 64 MiB in all; the working tree travels too

die() { echo "prepare: error: $*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kit=${1:-$repo/.gpukit}
command -v dotnet >/dev/null || die "expected the .NET 10 SDK on PATH (dotnet), found no dotnet"
dotnet --list-sdks | grep -q '^10\.' || die "expected a .NET 10 SDK, dotnet --list-sdks shows: $(dotnet --list-sdks | tr '\n' ' ')"
[ "$(uname -sm)" = "Linux x86_64" ] || die "expected Linux x86_64 (the GPU nodes are linux-x64), this is $(uname -sm)"
command -v xz >/dev/null || die "expected xz on PATH (apt-get install xz-utils)"

work=$(mktemp -d -t gpukit-prepare.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/src out=$work/kit
mkdir -p "$src" "$out"

echo "== copying the working tree to $src"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$src"
else
  (cd "$repo" && tar --exclude='./.git' --exclude='*/bin' --exclude='*/obj' --exclude='./.gpukit' -cf - .) | tar -xf - -C "$src"
fi

pub=(-c Release -r linux-x64 --self-contained false -p:UseAppHost=false -p:SatelliteResourceLanguages=en -p:GenerateDocumentationFile=false --nologo)
echo "== publishing Framework.Tests as an MTP executable (-p:GpuKit=true)"
dotnet publish "$src/Framework.Tests/Framework.Tests.csproj" "${pub[@]}" -p:GpuKit=true -o "$out/tests"
echo "== publishing Samples/Digits, Benchmarks, tools/gpu-kit/GpuKit"
dotnet publish "$src/Samples/Digits/Digits.csproj" "${pub[@]}" -o "$out/digits"
dotnet publish "$src/Benchmarks/Benchmarks.csproj" "${pub[@]}" -o "$out/bench"
dotnet publish "$src/tools/gpu-kit/GpuKit/GpuKit.csproj" "${pub[@]}" -o "$out/tool"
# The suite must really be the self-running kind: a VSTest build would need the SDK's `dotnet test`.
[ -f "$out/tests/Microsoft.Testing.Platform.dll" ] || die "expected an MTP build of Framework.Tests (Microsoft.Testing.Platform.dll in its output), found none"

echo "== dumping the assembled PTX (GpuKit dump-ptx)"
dotnet "$out/tool/GpuKit.dll" dump-ptx "$out/ptx"

echo "== copying the .NET runtime from this SDK's install"
dotnet_dir=$(dirname "$(readlink -f "$(command -v dotnet)")")
rt=$(ls -d "$dotnet_dir"/shared/Microsoft.NETCore.App/10.* 2>/dev/null | sort -V | tail -1)
[ -n "$rt" ] || die "expected a Microsoft.NETCore.App 10.x runtime under $dotnet_dir/shared, found none"
fxr=$(ls -d "$dotnet_dir"/host/fxr/* | sort -V | tail -1)
mkdir -p "$out/dotnet/shared/Microsoft.NETCore.App" "$out/dotnet/host/fxr"
cp "$dotnet_dir/dotnet" "$out/dotnet/"
cp -r "$fxr" "$out/dotnet/host/fxr/"
cp -r "$rt" "$out/dotnet/shared/Microsoft.NETCore.App/"

echo "== packing (xz)"
rm -rf "$kit"; mkdir -p "$kit"
{
  echo "GPU kit prepared $(date -u +%FT%TZ) on $(uname -n)"
  echo "commit: $(git -C "$repo" describe --always --dirty 2>/dev/null || echo 'not a git checkout')"
  echo "sdk: $(dotnet --version); runtime: Microsoft.NETCore.App $(basename "$rt"); hostfxr $(basename "$fxr")"
  echo "modules: $(cd "$out/ptx" && ls *.ptx | tr '\n' ' ')"
  echo "uncompressed: $(du -sh "$out" | cut -f1) ($(for d in tests digits bench tool ptx dotnet; do du -sh "$out/$d" | awk -v d=$d '{printf "%s %s ", d, $1}'; done))"
} > "$kit/manifest.txt"
tar -cf - -C "$out" tests digits bench tool ptx dotnet | xz -T0 -6 > "$kit/kit.tar.xz"
bytes=$(du -cb "$kit"/* | tail -1 | cut -f1)
echo "compressed: $((bytes / 1024)) KiB of at most $LIMIT_MIB MiB" >> "$kit/manifest.txt"
cat "$kit/manifest.txt"
if [ "$bytes" -gt $((LIMIT_MIB * 1024 * 1024)) ]; then
  die "the kit is $((bytes / 1024 / 1024)) MiB, over the $LIMIT_MIB MiB limit (the device tool carries 64 MiB with the working tree)"
fi
echo "kit ready: $kit"
echo "on the GPU node (repository root, the kit folder carried): bash tools/gpu-kit/run.sh"
