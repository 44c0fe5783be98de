/* Open MPI's own MPI_Allreduce (float sum, in place) from C: the baseline of ProcessGroup.AllReduce's
   bandwidth (Benchmarks/README.md). Run by tools/distributed/bench.sh under mpirun. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (long bytes = 1024; bytes <= 64L * 1024 * 1024; bytes *= 4) {
    int count = (int)(bytes / 4);
    float *buf = malloc(bytes);
    for (int i = 0; i < count; i++) buf[i] = 1.0f;
    int iters = bytes <= 65536 ? 200 : bytes <= 4 * 1024 * 1024 ? 20 : 5;
    MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int k = 0; k < iters; k++) MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double dt = (MPI_Wtime() - t0) / iters;
    if (rank == 0) printf("C-MPI_Allreduce %ld bytes: %.1f us, %.3f GB/s\n", bytes, dt * 1e6, bytes / dt / 1e9);
    free(buf);
  }
  MPI_Finalize();
  return 0;
}
