namespace Framework.Cuda.Emulator.Ptx;

/// <summary>
/// Decoded operations. Float arithmetic is split by width so the executor's switch lands on a loop
/// with no further type tests; integer arithmetic carries its type in <see cref="Instruction.Type"/>
/// and is computed in 64 bits then truncated, which is exact for every width.
/// </summary>
internal enum Opcode : byte
{
    Nop,
    Mov, MovPack, MovUnpack,
    Ld, St, LdParam,
    Cvta, Cvt,
    IAdd, ISub, IMulLo, IMulHi, IMulWide, IMadLo, IMadHi, IMadWide, IDiv, IRem, IMin, IMax,
    And, Or, Xor, Not, Shl, Shr, INeg, IAbs, Popc, Clz, Brev,
    FAdd32, FSub32, FMul32, FFma32, FDiv32, FMin32, FMax32, FNeg32, FAbs32, FRcp32, FSqrt32, FRsqrt32,
    FEx2, FLg2, FSin, FCos,
    FAdd64, FSub64, FMul64, FFma64, FDiv64, FMin64, FMax64, FNeg64, FAbs64, FRcp64, FSqrt64, FRsqrt64,
    Setp, Selp,
    Bra, Exit, Bar, WarpSync, Shfl, Vote, Atom, Red, Membar,
}

/// <summary>Comparison of setp.</summary>
internal enum CompareOp : byte { Eq, Ne, Lt, Le, Gt, Ge, Lo, Ls, Hi, Hs, Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan }

/// <summary>Boolean combine of setp with a third predicate.</summary>
internal enum BoolOp : byte { None, And, Or, Xor }

/// <summary>Operation of atom/red.</summary>
internal enum AtomOp : byte { Add, Min, Max, Exch, Cas, Inc, Dec, And, Or, Xor }

/// <summary>Source-lane rule of shfl.sync.</summary>
internal enum ShflMode : byte { Up, Down, Bfly, Idx }

/// <summary>Mode of vote.sync.</summary>
internal enum VoteMode : byte { All, Any, Uni, Ballot }

/// <summary>Rounding of cvt (the float modes and the round-to-integer modes).</summary>
internal enum Rounding : byte { None, Rn, Rz, Rm, Rp, Rni, Rzi, Rmi, Rpi }

/// <summary>What cvta does to an address.</summary>
internal enum CvtaKind : byte { Identity, SharedToGeneric, GenericToShared, LocalToGeneric, GenericToLocal }

/// <summary>Special registers; they are materialized into ordinary registers per block.</summary>
internal enum SpecialRegister : byte
{
    TidX, TidY, TidZ, NtidX, NtidY, NtidZ, CtaidX, CtaidY, CtaidZ, NctaidX, NctaidY, NctaidZ, LaneId, WarpId,
}
