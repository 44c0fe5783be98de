using Framework.Cuda;
using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>Launch-configuration checks, done before any block runs.</summary>
internal static class LaunchValidation
{
    /// <summary>Checks shape, shared memory and parameter size; returns the block's shared bytes.</summary>
    public static int Validate(PtxKernel kernel, Dim3 grid, Dim3 block, uint dynamicSharedBytes, int parameterBytes)
    {
        void Shape(bool ok, string message)
        {
            if (!ok) throw new EmulatorCheckException(EmulatorCheck.InvalidLaunchShape, kernel.Name, 0, null, null, message);
        }
        Shape(grid.X >= 1 && grid.Y >= 1 && grid.Z >= 1, $"grid dimensions must be >= 1, got {grid}");
        Shape(block.X >= 1 && block.Y >= 1 && block.Z >= 1, $"block dimensions must be >= 1, got {block}");
        Shape(block.X <= EmulatedCudaDriver.MaxBlockDimX && block.Y <= EmulatedCudaDriver.MaxBlockDimY && block.Z <= EmulatedCudaDriver.MaxBlockDimZ,
            $"block {block} exceeds the per-dimension limits ({EmulatedCudaDriver.MaxBlockDimX}, {EmulatedCudaDriver.MaxBlockDimY}, {EmulatedCudaDriver.MaxBlockDimZ})");
        Shape(block.Volume <= EmulatedCudaDriver.MaxThreadsPerBlock, $"block {block} has {block.Volume} threads, more than {EmulatedCudaDriver.MaxThreadsPerBlock}");
        Shape(grid.X <= EmulatedCudaDriver.MaxGridDimX && grid.Y <= EmulatedCudaDriver.MaxGridDimY && grid.Z <= EmulatedCudaDriver.MaxGridDimZ,
            $"grid {grid} exceeds the limits ({EmulatedCudaDriver.MaxGridDimX}, {EmulatedCudaDriver.MaxGridDimY}, {EmulatedCudaDriver.MaxGridDimZ})");
        if (kernel.ReqNtid is { } req)
            Shape(req == block, $"kernel declares .reqntid {req} but the launch uses block {block}");
        if (kernel.MaxNtid is { } max)
            Shape(block.Volume <= max.Volume, $"kernel declares .maxntid {max} ({max.Volume} threads) but the launch uses block {block} ({block.Volume} threads)");
        long shared = (long)kernel.DynamicSharedOffset + dynamicSharedBytes;
        long used = dynamicSharedBytes == 0 ? kernel.StaticSharedBytes : shared;
        Shape(used <= EmulatedCudaDriver.MaxSharedBytesPerBlock,
            $"the block needs {kernel.StaticSharedBytes} static + {dynamicSharedBytes} dynamic shared bytes, more than {EmulatedCudaDriver.MaxSharedBytesPerBlock}");
        if (parameterBytes != kernel.ParamBytes)
        {
            string list = string.Join(", ", kernel.Params.Select(p => $"{p.Type.Name()} {p.Name} @{p.Offset}"));
            throw new EmulatorCheckException(EmulatorCheck.ParameterSizeMismatch, kernel.Name, 0, null, null,
                $"the parameter buffer has {parameterBytes} bytes but the kernel's .param list ({list}) takes {kernel.ParamBytes}");
        }
        return (int)used;
    }
}
