using Framework;
using Framework.Cuda.Emulator;
using Framework.Distributed;
using Framework.Distributed.Tests;

// One multi-process test case per run: `mpirun -np 2 dotnet Framework.Distributed.Tests.dll <case> [cpu|emulated]`.
// Every rank prints "rank R: PASS <case>" on success; a failed check throws, and the rank aborts the
// whole job (ProcessGroup.Abort) so that the others do not wait for a collective's deadline.
if (args.Length < 1)
{
    Console.Error.WriteLine($"usage: Framework.Distributed.Tests <case> [cpu|emulated]; cases: {string.Join(", ", Cases.Names)}");
    return 2;
}
string name = args[0];
string deviceName = args.Length > 1 ? args[1] : "cpu";
var device = deviceName switch { "emulated" => Device.CudaEmulated(0), "cuda" => Device.Cuda(0), _ => Device.Cpu };
if (deviceName == "emulated") EmulatedCuda.Register(maxDegreeOfParallelism: 1);
if (deviceName == "cuda")
{
    // Refused, not skipped: the NUnit side ignores the native case with the probe's reason before launching.
    if (Framework.Cuda.NativeCudaDriver.Probe(0) is { } why)
    {
        Console.Error.WriteLine($"no usable CUDA GPU: {why}");
        return 3;
    }
    Framework.Cuda.CudaBackend.Register();
}
double timeoutS = double.Parse(Environment.GetEnvironmentVariable("DIST_TEST_TIMEOUT_S") ?? "30", System.Globalization.CultureInfo.InvariantCulture);
using var group = ProcessGroup.FromEnvironment(TimeSpan.FromSeconds(timeoutS));
try
{
    Cases.Run(name, group, device);
}
catch (Exception e)
{
    group.Abort($"case {name} on {device} failed: {e}");
}
Console.WriteLine($"rank {group.Rank}: PASS {name} {device}");
return 0;
