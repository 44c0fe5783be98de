#!/usr/bin/env bash
# Installs NVIDIA's PTX assembler, ptxas 11.8, from Debian bookworm's non-free component (package
# nvidia-cuda-toolkit) into a tools folder, without touching the machine's apt sources or installing
# the 2 GB toolkit: a private apt configuration (its own sources list, package lists and cache under
# the tools folder) fetches the signed package index, `apt-get download` fetches the one .deb
# (84 MB, hash-checked against that index), and only ./usr/bin/ptxas is unpacked from it. The binary
# needs nothing but glibc.
#
#   tools/install-ptxas.sh            installs into .tools/ptxas (or $PTXAS_DIR) and prints the path
#
# Idempotent: when the folder already holds a working ptxas 11.8 it returns at once. Needs apt-get and
# Debian's archive keyring (any Debian 12); runs as root or as any user who can write the folder.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${PTXAS_DIR:-.tools/ptxas}
bin="$dir/bin/ptxas"
want="release 11.8"

# (--version captured first: grep -q closing the pipe early would fail the pipeline under pipefail)
if [ -x "$bin" ] && [[ "$("$bin" --version 2>/dev/null)" == *"$want"* ]]; then
  echo "$bin"
  exit 0
fi

command -v apt-get >/dev/null || { echo "install-ptxas: apt-get not found (this script expects Debian 12)" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "install-ptxas: $keyring is missing (install debian-archive-keyring)" >&2; exit 1; }

# The mirror of the machine's own Debian sources (deb822 or one-line format), else deb.debian.org.
mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}

apt_dir="$dir/apt"
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir/bin"
echo "deb [signed-by=$keyring] ${mirror%/} bookworm non-free" > "$apt_dir/sources.list"
# Dir::* point apt at the private list only; the machine's sources and package state stay untouched.
apt_opts=(-o "Dir::Etc::SourceList=$PWD/$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$PWD/$apt_dir/lists" -o "Dir::Cache=$PWD/$apt_dir/cache"
  -o "APT::Sandbox::User=root" -o "Acquire::Retries=3")

for attempt in 1 2 3; do
  if apt-get "${apt_opts[@]}" -qq update && (cd "$apt_dir" && apt-get "${apt_opts[@]}" -qq download nvidia-cuda-toolkit); then
    break
  fi
  [ "$attempt" = 3 ] && { echo "install-ptxas: could not download nvidia-cuda-toolkit from $mirror (bookworm non-free)" >&2; exit 1; }
  sleep 5
done

deb=$(ls "$apt_dir"/nvidia-cuda-toolkit_*.deb)
unpack="$apt_dir/unpack"
mkdir -p "$unpack"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$unpack" ./usr/bin/ptxas ./usr/share/doc/nvidia-cuda-toolkit/copyright
mv "$unpack/usr/bin/ptxas" "$bin"
cp "$unpack/usr/share/doc/nvidia-cuda-toolkit/copyright" "$dir/LICENSE-ptxas"
rm -rf "$apt_dir"

[[ "$("$bin" --version)" == *"$want"* ]] || { echo "install-ptxas: $bin does not report $want" >&2; "$bin" --version >&2; exit 1; }
echo "$bin"
