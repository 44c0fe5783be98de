using BenchmarkDotNet.Running;
using Benchmarks.Norm;

// "compare-norms" prints ours next to PyTorch in one run; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "compare-norms") return NormComparison.Run(args);
// "norm-traffic" runs the norm kernels on the emulated GPU and prints the interpreter's traffic counts.
if (args.Length > 0 && args[0] == "norm-traffic") return Benchmarks.Cuda.NormTraffic.Run(args);
// "norm-gpu" runs the norm kernel suite on a real GPU, or says why it cannot.
if (args.Length > 0 && args[0] == "norm-gpu")
{
    if (!Benchmarks.Cuda.NormGpuBenchmarks.Available(out string reason)) { Console.WriteLine(reason); return 0; }
    BenchmarkDotNet.Running.BenchmarkRunner.Run<Benchmarks.Cuda.NormGpuBenchmarks>(args: args[1..]);
    return 0;
}
// "cuda" runs the GPU kernel suite, or says why it cannot (no driver, no device) and exits cleanly.
if (args.Length > 0 && args[0] == "cuda")
{
    if (Framework.Cuda.NativeCudaDriver.Probe(0) is { } why)
    {
        Console.WriteLine($"CUDA benchmarks skipped: {why}");
        return 0;
    }
    BenchmarkRunner.Run<Benchmarks.Cuda.CudaKernelBenchmarks>(args: args[1..]);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(NormComparison).Assembly).Run(args);
return 0;
