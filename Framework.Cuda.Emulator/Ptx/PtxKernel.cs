using Framework.Cuda;

namespace Framework.Cuda.Emulator.Ptx;

/// <summary>One kernel parameter: its name, type, byte offset and size in the packed buffer.</summary>
internal readonly record struct PtxParam(string Name, PtxType Type, int Offset, int Size);

/// <summary>
/// A decoded <c>.entry</c>: instructions, the register file layout (declared registers first, then
/// the read-only constant and special registers the decoder added), memory layout and parameters.
/// </summary>
internal sealed class PtxKernel
{
    public required string Name { get; init; }
    public required string File { get; init; }
    public required Instruction[] Code { get; init; }
    public required int[] OperandPool { get; init; }
    public required int RegisterCount { get; init; }
    public required string[] RegisterNames { get; init; }
    /// <summary>Constant registers and their 64-bit values (already converted to the operand's type).</summary>
    public required (int Register, ulong Value)[] Constants { get; init; }
    public required (int Register, SpecialRegister Kind)[] Specials { get; init; }
    public required PtxParam[] Params { get; init; }
    public required int ParamBytes { get; init; }
    public required int StaticSharedBytes { get; init; }
    /// <summary>Offset of <c>.extern .shared</c> arrays: the end of static shared, aligned.</summary>
    public required int DynamicSharedOffset { get; init; }
    public required int LocalBytes { get; init; }
    /// <summary>From .maxntid / .reqntid, or null.</summary>
    public Dim3? MaxNtid { get; init; }
    public Dim3? ReqNtid { get; init; }
}

/// <summary>A loaded module: its kernels by name.</summary>
internal sealed class PtxModule
{
    public required string Name { get; init; }
    public required Dictionary<string, PtxKernel> Kernels { get; init; }
}
