#!/usr/bin/env bash
# All-reduce bandwidth, 1 KB to 64 MB of float32, 2 processes: ProcessGroup.AllReduce (host buffer
# and float32 tensor) against Open MPI's MPI_Allreduce called from C. Needs mpicc (libopenmpi-dev) and
# a Release build of the solution. Usage: bash tools/distributed/bench.sh [np]
set -euo pipefail
cd "$(dirname "$0")/../.."
np=${1:-2}
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none TERM=dumb
out=$(mktemp -d)
mpicc -O2 -o "$out/allreduce_bench" tools/distributed/allreduce_bench.c
mpirun --allow-run-as-root --oversubscribe -np "$np" "$out/allreduce_bench"
mpirun --allow-run-as-root --oversubscribe -np "$np" dotnet Framework.Distributed.Tests/bin/Release/net10.0/Framework.Distributed.Tests.dll bench | grep -v PASS
rm -rf "$out"
