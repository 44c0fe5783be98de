#!/usr/bin/env bash
# Installs Open MPI (mpirun and libmpi.so.40) for the multi-process tests (Framework.Tests/Distributed),
# which fail under CI=true without it. Debian 12: openmpi-bin pulls libopenmpi3.
set -euo pipefail
if command -v mpirun >/dev/null 2>&1 && ldconfig -p | grep -q 'libmpi.so.40'; then
  echo "Open MPI present: $(mpirun --version 2>&1 | head -n 1)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
for attempt in 1 2 3; do
  if $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q --no-install-recommends openmpi-bin libopenmpi3; then break; fi
  echo "apt-get failed (attempt $attempt; dpkg lock?), retrying" >&2
  sleep 10
done
mpirun --version 2>&1 | head -n 1
