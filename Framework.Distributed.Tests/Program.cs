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
var device = args.Length > 1 && args[1] == "emulated" ? Device.CudaEmulated(0) : Device.Cpu;
if (device != Device.Cpu) EmulatedCuda.Register(maxDegreeOfParallelism: 1);
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
