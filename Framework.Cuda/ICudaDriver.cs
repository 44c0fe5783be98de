namespace Framework.Cuda;

/// <summary>
/// The driver surface the CUDA backend needs. It mirrors the CUDA driver API and cuBLAS one call to
/// one entry point (<c>cuMemAlloc_v2</c>, <c>cuMemcpyHtoD_v2</c>, <c>cuModuleLoadDataEx</c>,
/// <c>cuLaunchKernel</c>, <c>cublasSgemm_v2</c>, ...), with plain handles: device pointers are
/// <see cref="ulong"/> addresses, modules/functions/streams are opaque handles, host data are byte
/// spans, and kernel arguments are one packed buffer laid out like the kernel's <c>.param</c> list
/// (what <c>CU_LAUNCH_PARAM_BUFFER_POINTER</c> takes). Every failure throws <see cref="CudaException"/>.
/// </summary>
public interface ICudaDriver : IDisposable
{
    /// <summary>Properties of the device this driver runs on.</summary>
    CudaDeviceInfo Device { get; }

    /// <summary>Allocates device memory (<c>cuMemAlloc_v2</c>).</summary>
    /// <param name="bytes">Size in bytes; must be positive.</param>
    /// <returns>The device address of the allocation, aligned to at least 256 bytes.</returns>
    ulong Allocate(ulong bytes);

    /// <summary>Frees an allocation returned by <see cref="Allocate"/> (<c>cuMemFree_v2</c>).</summary>
    /// <param name="devicePointer">The address <see cref="Allocate"/> returned.</param>
    void Free(ulong devicePointer);

    /// <summary>Copies host bytes to device memory (<c>cuMemcpyHtoD_v2</c>).</summary>
    /// <param name="destination">Device address of the first byte written.</param>
    /// <param name="source">Bytes to copy.</param>
    void CopyHostToDevice(ulong destination, ReadOnlySpan<byte> source);

    /// <summary>Copies device memory to host bytes (<c>cuMemcpyDtoH_v2</c>).</summary>
    /// <param name="destination">Receives <c>destination.Length</c> bytes.</param>
    /// <param name="source">Device address of the first byte read.</param>
    void CopyDeviceToHost(Span<byte> destination, ulong source);

    /// <summary>Copies between device buffers (<c>cuMemcpyDtoD_v2</c>).</summary>
    /// <param name="destination">Device address written.</param>
    /// <param name="source">Device address read.</param>
    /// <param name="bytes">Number of bytes.</param>
    void CopyDeviceToDevice(ulong destination, ulong source, ulong bytes);

    /// <summary>Sets <paramref name="count"/> bytes to <paramref name="value"/> (<c>cuMemsetD8_v2</c>).</summary>
    /// <param name="destination">Device address.</param>
    /// <param name="value">Byte value.</param>
    /// <param name="count">Number of bytes.</param>
    void MemsetD8(ulong destination, byte value, ulong count);

    /// <summary>Sets <paramref name="count"/> 32-bit words to <paramref name="value"/> (<c>cuMemsetD32_v2</c>).</summary>
    /// <param name="destination">Device address, 4-byte aligned.</param>
    /// <param name="value">Word value (float bits for a float fill).</param>
    /// <param name="count">Number of words.</param>
    void MemsetD32(ulong destination, uint value, ulong count);

    /// <summary>
    /// Compiles and loads a PTX module (<c>cuModuleLoadDataEx</c> with an error-log buffer). A rejected
    /// module throws <see cref="CudaException"/> with <see cref="CudaError.InvalidPtx"/> whose
    /// <see cref="CudaException.JitLog"/> names the line.
    /// </summary>
    /// <param name="ptx">The PTX text.</param>
    /// <param name="name">A name for error messages, e.g. the embedded file name.</param>
    /// <returns>The module handle.</returns>
    CudaModule LoadModule(string ptx, string name);

    /// <summary>Unloads a module (<c>cuModuleUnload</c>); its functions become invalid.</summary>
    /// <param name="module">The module.</param>
    void UnloadModule(CudaModule module);

    /// <summary>Looks up a kernel by its <c>.entry</c> name (<c>cuModuleGetFunction</c>).</summary>
    /// <param name="module">The module.</param>
    /// <param name="name">The kernel name.</param>
    /// <returns>The function handle.</returns>
    CudaFunction GetFunction(CudaModule module, string name);

    /// <summary>
    /// Launches a kernel (<c>cuLaunchKernel</c>). <paramref name="parameters"/> holds every kernel
    /// argument packed in <c>.param</c> order, each at its natural alignment; its length must equal
    /// the parameter list's size (see <see cref="KernelParameterBuffer"/>).
    /// </summary>
    /// <param name="function">The kernel.</param>
    /// <param name="grid">Blocks per grid.</param>
    /// <param name="block">Threads per block.</param>
    /// <param name="dynamicSharedBytes">Bytes of dynamic (<c>.extern .shared</c>) memory per block.</param>
    /// <param name="stream">The stream to enqueue on.</param>
    /// <param name="parameters">The packed argument buffer.</param>
    void Launch(CudaFunction function, Dim3 grid, Dim3 block, uint dynamicSharedBytes, CudaStream stream,
        ReadOnlySpan<byte> parameters);

    /// <summary>Creates a stream (<c>cuStreamCreate</c>).</summary>
    /// <returns>The stream handle.</returns>
    CudaStream CreateStream();

    /// <summary>Destroys a stream (<c>cuStreamDestroy_v2</c>).</summary>
    /// <param name="stream">The stream.</param>
    void DestroyStream(CudaStream stream);

    /// <summary>Waits for all work on the device (<c>cuCtxSynchronize</c>).</summary>
    void Synchronize();

    /// <summary>
    /// Column-major single-precision GEMM (<c>cublasSgemm_v2</c>):
    /// C = alpha * op(A) * op(B) + beta * C with op(A) m x k, op(B) k x n, C m x n; element (i, j) of a
    /// matrix X with leading dimension ldx is at <c>X[i + j * ldx]</c>. With beta == 0, C is not read.
    /// </summary>
    /// <param name="transA">Operation on A.</param>
    /// <param name="transB">Operation on B.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">Device address of A.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">Device address of B.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="beta">Scale of the old C.</param>
    /// <param name="c">Device address of C.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    void Sgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha,
        ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc);

    /// <summary>
    /// <see cref="Sgemm"/> over <paramref name="batchCount"/> matrix triples, the i-th at
    /// <c>a + i*strideA</c>, <c>b + i*strideB</c>, <c>c + i*strideC</c> elements
    /// (<c>cublasSgemmStridedBatched</c>).
    /// </summary>
    /// <param name="transA">Operation on A.</param>
    /// <param name="transB">Operation on B.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">Device address of the first A.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="strideA">Elements between consecutive A matrices.</param>
    /// <param name="b">Device address of the first B.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="strideB">Elements between consecutive B matrices.</param>
    /// <param name="beta">Scale of the old C.</param>
    /// <param name="c">Device address of the first C.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="strideC">Elements between consecutive C matrices.</param>
    /// <param name="batchCount">Number of products.</param>
    void SgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, float alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta,
        ulong c, int ldc, long strideC, int batchCount);

    /// <summary>
    /// Column-major double-precision GEMM (<c>cublasDgemm_v2</c>); the same contract as <see cref="Sgemm"/>.
    /// </summary>
    /// <param name="transA">Operation on A.</param>
    /// <param name="transB">Operation on B.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">Device address of A.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="b">Device address of B.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="beta">Scale of the old C.</param>
    /// <param name="c">Device address of C.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    void Dgemm(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha,
        ulong a, int lda, ulong b, int ldb, double beta, ulong c, int ldc);

    /// <summary>
    /// <see cref="Dgemm"/> over <paramref name="batchCount"/> matrix triples (<c>cublasDgemmStridedBatched</c>);
    /// the same contract as <see cref="SgemmStridedBatched"/>.
    /// </summary>
    /// <param name="transA">Operation on A.</param>
    /// <param name="transB">Operation on B.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">Device address of the first A.</param>
    /// <param name="lda">Leading dimension of A.</param>
    /// <param name="strideA">Elements between consecutive A matrices.</param>
    /// <param name="b">Device address of the first B.</param>
    /// <param name="ldb">Leading dimension of B.</param>
    /// <param name="strideB">Elements between consecutive B matrices.</param>
    /// <param name="beta">Scale of the old C.</param>
    /// <param name="c">Device address of the first C.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="strideC">Elements between consecutive C matrices.</param>
    /// <param name="batchCount">Number of products.</param>
    void DgemmStridedBatched(BlasOperation transA, BlasOperation transB, int m, int n, int k, double alpha,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double beta,
        ulong c, int ldc, long strideC, int batchCount);
}
