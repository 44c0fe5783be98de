using Framework.Cuda;
using Framework.Cuda.Native;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>
/// The native driver's error handling through the <see cref="ICudaDriver"/> seam, over scripted
/// driver status codes (<see cref="FakeCudaCalls"/>), so it is checked without libcuda: asynchronous
/// kernel faults blamed on the last launch, the blocking mode naming the faulting kernel exactly, and a
/// poisoned context failing every later call with the original fault.
/// </summary>
public class NativeDriverFaultTests
{
    private static (NativeCudaDriver Driver, CudaFunction Relu, CudaFunction Sum) Open(FakeCudaCalls calls, bool blocking = false)
    {
        var driver = calls.Driver(blocking);
        var elementwise = driver.LoadModule(".version 7.5", "elementwise.ptx");
        var reduce = driver.LoadModule(".version 7.5", "reduce.ptx");
        return (driver, driver.GetFunction(elementwise, "relu_f32"), driver.GetFunction(reduce, "sum_f32"));
    }

    private static void Launch(ICudaDriver driver, CudaFunction f, uint blocks = 4) =>
        driver.Launch(f, new Dim3(blocks), new Dim3(256), 0, CudaStream.Default, new byte[16]);

    [Test]
    public void AnAsynchronousFaultNamesTheLastLaunchedKernelAsTheProbableCulprit()
    {
        var calls = new FakeCudaCalls();
        var (driver, relu, sum) = Open(calls);
        Launch(driver, sum, 2);
        Launch(driver, relu, 4);
        calls.FailNext("cuMemcpyDtoH_v2", CudaError.IllegalAddress);

        var e = Assert.Throws<CudaException>(() => driver.CopyDeviceToHost(new byte[8], 0x1000))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Error, Is.EqualTo(CudaError.IllegalAddress));
        Assert.That(e.Call, Is.EqualTo("cuMemcpyDtoH_v2"));
        Assert.That(e.FaultingKernel, Is.EqualTo("'relu_f32' (elementwise.ptx), grid (4, 1, 1), block (256, 1, 1)"));
        Assert.That(e.Message, Does.Contain("CUDA_ERROR_ILLEGAL_ADDRESS").And.Contain("probably in the last kernel launched, 'relu_f32'")
            .And.Contain("FRAMEWORK_CUDA_LAUNCH_BLOCKING=1").And.Contain("unusable"));
        Assert.That(calls.Calls.Count(c => c == "cuCtxSynchronize"), Is.Zero, "launches must stay asynchronous by default");
    }

    [Test]
    public void AfterAStickyFaultEveryLaterCallFailsNamingTheOriginalFaultWithoutCallingTheDriver()
    {
        var calls = new FakeCudaCalls();
        var (driver, relu, sum) = Open(calls);
        Launch(driver, relu);
        calls.FailNext("cuCtxSynchronize", CudaError.IllegalAddress);
        Assert.Throws<CudaException>(driver.Synchronize);
        int callsAtFault = calls.Calls.Count;

        var later = new (string Call, Action Act)[]
        {
            ("cuMemAlloc_v2", () => driver.Allocate(64)),
            ("cuMemFree_v2", () => driver.Free(0x1000)),
            ("cuMemcpyHtoD_v2", () => driver.CopyHostToDevice(0x1000, new byte[4])),
            ("cuMemsetD32_v2", () => driver.MemsetD32(0x1000, 0, 1)),
            ("cuModuleLoadDataEx", () => driver.LoadModule(".version 7.5", "norm.ptx")),
            ("cuLaunchKernel", () => Launch(driver, sum)),
            ("cuCtxSynchronize", driver.Synchronize),
            ("cublasSgemm_v2", () => driver.Sgemm(BlasOperation.None, BlasOperation.None, 2, 2, 2, 1, 0x1000, 2, 0x2000, 2, 0, 0x3000, 2)),
        };
        foreach (var (call, act) in later)
        {
            var e = Assert.Throws<CudaException>(act, call)!;
            if (call == "cuMemAlloc_v2") TestContext.Out.WriteLine(e.Message);
            Assert.That(e.Error, Is.EqualTo(CudaError.IllegalAddress), call);
            Assert.That(e.Call, Is.EqualTo(call));
            Assert.That(e.FaultingKernel, Does.StartWith("'relu_f32' (elementwise.ptx)"), call);
            Assert.That(e.Message, Does.Contain("first reported by cuCtxSynchronize").And.Contain("FRAMEWORK_CUDA_LAUNCH_BLOCKING=1")
                .And.Contain("probably from kernel 'relu_f32' (elementwise.ptx), grid (4, 1, 1), block (256, 1, 1)"), call);
        }
        Assert.That(calls.Calls.Count, Is.EqualTo(callsAtFault), "a poisoned context must not be called again");
        Assert.That(driver.Dispose, Throws.Nothing, "releasing the context after a fault");
    }

    [Test]
    public void BlockingModeSynchronizesEveryLaunchAndNamesTheFaultingKernelExactly()
    {
        var calls = new FakeCudaCalls();
        var (driver, relu, sum) = Open(calls, blocking: true);
        Assert.That(driver.LaunchBlocking, Is.True);
        Launch(driver, relu);
        Launch(driver, relu);
        Assert.That(calls.Calls.Count(c => c == "cuCtxSynchronize"), Is.EqualTo(2), "one synchronize per launch");

        calls.FailNext("cuCtxSynchronize", CudaError.MisalignedAddress);
        var e = Assert.Throws<CudaException>(() => Launch(driver, sum, 7))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Error, Is.EqualTo(CudaError.MisalignedAddress));
        Assert.That(e.FaultingKernel, Is.EqualTo("'sum_f32' (reduce.ptx), grid (7, 1, 1), block (256, 1, 1)"));
        Assert.That(e.Message, Does.Contain("kernel 'sum_f32' (reduce.ptx), grid (7, 1, 1), block (256, 1, 1) faulted")
            .And.Not.Contain("probably"));

        var later = Assert.Throws<CudaException>(() => driver.Allocate(4))!;
        Assert.That(later.Error, Is.EqualTo(CudaError.MisalignedAddress));
        Assert.That(later.Message, Does.Contain("raised by kernel 'sum_f32' (reduce.ptx), grid (7, 1, 1)").And.Not.Contain("probably")
            .And.Not.Contain("LAUNCH_BLOCKING=1 to have"), "blocking mode already named the kernel exactly");
    }

    [Test]
    public void BlockingModeNamesAFaultingGemm()
    {
        var calls = new FakeCudaCalls();
        var (driver, _, _) = Open(calls, blocking: true);
        calls.FailNext("cuCtxSynchronize", CudaError.LaunchFailed);
        var e = Assert.Throws<CudaException>(() =>
            driver.SgemmStridedBatched(BlasOperation.None, BlasOperation.None, 3, 4, 5, 1, 0x1000, 3, 15, 0x2000, 5, 20, 0, 0x3000, 3, 12, 6))!;
        Assert.That(e.Error, Is.EqualTo(CudaError.LaunchFailed));
        Assert.That(e.FaultingKernel, Is.EqualTo("cublasSgemmStridedBatched (m=3 n=4 k=5 batch=6)"));
    }

    [Test]
    public void AStickyStatusAtALaunchBlamesTheKernelBeforeIt()
    {
        var calls = new FakeCudaCalls();
        var (driver, relu, sum) = Open(calls);
        Launch(driver, relu);
        calls.FailNext("cuLaunchKernel", CudaError.IllegalAddress);
        var e = Assert.Throws<CudaException>(() => Launch(driver, sum))!;
        Assert.That(e.Call, Is.EqualTo("cuLaunchKernel"));
        Assert.That(e.FaultingKernel, Does.StartWith("'relu_f32'"), "the launch that reports an asynchronous fault is not its cause");
    }

    [Test]
    public void AStickyFaultBeforeAnyLaunchSaysNoKernelRan()
    {
        var calls = new FakeCudaCalls();
        var driver = calls.Driver();
        calls.FailNext("cuMemAlloc_v2", CudaError.LaunchFailed);
        var e = Assert.Throws<CudaException>(() => driver.Allocate(16))!;
        Assert.That(e.FaultingKernel, Is.Null);
        Assert.That(e.Message, Does.Contain("no kernel had been launched"));
        Assert.That(Assert.Throws<CudaException>(() => driver.Allocate(16))!.Message, Does.Contain("with no kernel launched before it"));
    }

    [Test]
    public void ANonStickyLaunchErrorNamesThatKernelAndLeavesTheContextUsable()
    {
        var calls = new FakeCudaCalls();
        var (driver, relu, sum) = Open(calls);
        calls.FailNext("cuLaunchKernel", CudaError.LaunchOutOfResources);
        var e = Assert.Throws<CudaException>(() => Launch(driver, sum, 9))!;
        Assert.That(e.Error, Is.EqualTo(CudaError.LaunchOutOfResources));
        Assert.That(e.Message, Does.Contain("kernel 'sum_f32' (reduce.ptx), grid (9, 1, 1), block (256, 1, 1)"));
        Assert.That(() => Launch(driver, relu), Throws.Nothing);
        Assert.That(() => driver.Allocate(16), Throws.Nothing);
    }

    [Test]
    public void MissingCublasFailsTheGemmNamingWhatWasLookedForWithoutPoisoning()
    {
        var calls = new FakeCudaCalls { BlasMissing = "cuBLAS was not found (looked for libcublas.so.13, libcublas.so.12, libcublas.so)" };
        var driver = calls.Driver();
        var e = Assert.Throws<CudaException>(() =>
            driver.Dgemm(BlasOperation.None, BlasOperation.None, 2, 2, 2, 1, 0x1000, 2, 0x2000, 2, 0, 0x3000, 2))!;
        Assert.That(e.Call, Is.EqualTo("dlopen"));
        Assert.That(e.Message, Does.Contain("libcublas.so.13"));
        Assert.That(() => driver.Allocate(16), Throws.Nothing);
    }

    [TestCase(null, null, false)]
    [TestCase("1", null, true)]
    [TestCase(null, "1", true)]
    [TestCase("0", null, false)]
    [TestCase("true", null, true)]
    [TestCase("0", "0", false)]
    [TestCase("", "1", true)]
    public void BlockingIsRequestedByEitherVariable(string? ours, string? cudas, bool expected)
    {
        string? Env(string name) => name switch
        {
            "FRAMEWORK_CUDA_LAUNCH_BLOCKING" => ours,
            "CUDA_LAUNCH_BLOCKING" => cudas,
            _ => throw new ArgumentException($"unexpected variable {name}"),
        };
        Assert.That(CudaFaultTracker.BlockingRequested(Env), Is.EqualTo(expected));
    }

    [Test]
    public void StickyCodesAreTheOnesThatPoisonTheContext()
    {
        int[] sticky = [700, 702, 710, 714, 715, 716, 717, 718, 719];
        foreach (int code in sticky) Assert.That(CudaFaultTracker.IsSticky((CudaError)code), Is.True, $"{code}");
        foreach (int code in new[] { 1, 2, 3, 100, 200, 218, 400, 500, 701, 999 })
            Assert.That(CudaFaultTracker.IsSticky((CudaError)code), Is.False, $"{code}");
    }
}
