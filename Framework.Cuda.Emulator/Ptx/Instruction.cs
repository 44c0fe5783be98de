namespace Framework.Cuda.Emulator.Ptx;

/// <summary>
/// One pre-decoded instruction. Every operand is a register index: immediates and special registers
/// were turned into read-only registers at load time, so the executor never asks "is this a literal".
/// Fields not used by an opcode are -1 or zero.
/// </summary>
internal struct Instruction
{
    public Opcode Op;
    /// <summary>The instruction type (the destination type for cvt, the operand type for setp).</summary>
    public PtxType Type;
    /// <summary>Second type: cvt's source type.</summary>
    public PtxType Type2;
    /// <summary>Opcode-specific mode: <see cref="CompareOp"/>, <see cref="AtomOp"/>, <see cref="ShflMode"/>, ...</summary>
    public byte Mode;
    /// <summary>Second mode: setp's <see cref="BoolOp"/>, cvt's rounding.</summary>
    public byte Mode2;
    /// <summary>.sat modifier present.</summary>
    public bool Saturate;
    /// <summary>The predicate source is negated: setp's <c>!c</c>, vote's <c>!a</c>.</summary>
    public bool NegateSource;
    /// <summary>.ftz: f32 subnormal inputs and results are flushed to sign-preserving zero.</summary>
    public bool Ftz;
    /// <summary>Elements of a vector access (1, 2 or 4).</summary>
    public byte Vec;
    public StateSpace Space;
    /// <summary>Destination register, second destination (setp q, shfl p), and sources.</summary>
    public int D, D2, A, B, C, E;
    /// <summary>Vector element registers of ld/st/mov pack.</summary>
    public int V0, V1, V2, V3;
    /// <summary>Address base register (-1: absolute) and byte offset; for bra, the target index.</summary>
    public int AddrReg;
    public long Offset;
    /// <summary>Guard predicate register or -1, and whether it is negated (@!%p).</summary>
    public int Guard;
    public bool GuardNegated;
    /// <summary>Registers read and written, as a range of <see cref="PtxKernel.OperandPool"/>.</summary>
    public int SrcStart, SrcCount, DstStart, DstCount;
    /// <summary>Source position for diagnostics.</summary>
    public int Line, Column;
}
