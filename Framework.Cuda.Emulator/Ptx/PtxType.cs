namespace Framework.Cuda.Emulator.Ptx;

/// <summary>PTX fundamental types the emulator supports (no f16/bf16: nothing here needs them yet).</summary>
internal enum PtxType : byte
{
    None, Pred, B8, B16, B32, B64, U8, U16, U32, U64, S8, S16, S32, S64, F32, F64,
}

/// <summary>Size and kind queries, and the operand type-agreement rules of the PTX ISA.</summary>
internal static class PtxTypes
{
    public static int Size(this PtxType t) => t switch
    {
        PtxType.B8 or PtxType.U8 or PtxType.S8 => 1,
        PtxType.B16 or PtxType.U16 or PtxType.S16 => 2,
        PtxType.B32 or PtxType.U32 or PtxType.S32 or PtxType.F32 => 4,
        PtxType.B64 or PtxType.U64 or PtxType.S64 or PtxType.F64 => 8,
        _ => 0,
    };

    public static bool IsFloat(this PtxType t) => t is PtxType.F32 or PtxType.F64;
    public static bool IsSigned(this PtxType t) => t is PtxType.S8 or PtxType.S16 or PtxType.S32 or PtxType.S64;
    public static bool IsBits(this PtxType t) => t is PtxType.B8 or PtxType.B16 or PtxType.B32 or PtxType.B64;
    public static bool IsInteger(this PtxType t) => t is >= PtxType.U8 and <= PtxType.S64;

    public static PtxType? Parse(string suffix) => suffix switch
    {
        "pred" => PtxType.Pred,
        "b8" => PtxType.B8, "b16" => PtxType.B16, "b32" => PtxType.B32, "b64" => PtxType.B64,
        "u8" => PtxType.U8, "u16" => PtxType.U16, "u32" => PtxType.U32, "u64" => PtxType.U64,
        "s8" => PtxType.S8, "s16" => PtxType.S16, "s32" => PtxType.S32, "s64" => PtxType.S64,
        "f32" => PtxType.F32, "f64" => PtxType.F64,
        _ => null,
    };

    public static string Name(this PtxType t) => "." + t.ToString().ToLowerInvariant();

    /// <summary>
    /// Whether a register declared <paramref name="reg"/> may be used where the instruction type is
    /// <paramref name="ins"/>: a bit-size type agrees with anything of its size, signed and unsigned
    /// integers agree with each other at the same size, float types only with themselves (and bN).
    /// <paramref name="allowWider"/> is the ld/st/cvt relaxation: an integer register may be wider.
    /// </summary>
    public static bool Agrees(PtxType ins, PtxType reg, bool allowWider = false)
    {
        if (ins == reg) return true;
        if (ins == PtxType.Pred || reg == PtxType.Pred) return false;
        int si = ins.Size(), sr = reg.Size();
        bool sizeOk = si == sr || (allowWider && sr > si && !ins.IsFloat() && !reg.IsFloat());
        if (!sizeOk) return false;
        if (ins.IsBits() || reg.IsBits()) return true;
        if (ins.IsFloat() || reg.IsFloat()) return false;
        return true; // sN and uN
    }
}

/// <summary>State spaces an address may name.</summary>
internal enum StateSpace : byte { Generic, Global, Shared, Local, Param, Const }
