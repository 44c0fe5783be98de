namespace Framework.Cuda.Emulator.Ptx;

/// <summary>Decoders for mov, cvt, cvta, ld, st, atom and red.</summary>
internal sealed partial class PtxParser
{
    private Instruction ParseMov(Token at, Mods m)
    {
        var type = m.TakeType();
        var ins = NewInstruction(Opcode.Mov, at);
        ins.Type = type;
        RequireType(at, type, type == PtxType.Pred || type.Size() >= 2, "a 16/32/64-bit type or .pred");
        if (Peek.Is("{"))
        {
            // mov.b64 {lo, hi}, d: split into halves.
            RequireType(at, type, type is PtxType.B64 or PtxType.B32, ".b32 or .b64 for vector unpacking");
            var half = type == PtxType.B64 ? PtxType.B32 : PtxType.B16;
            var parts = Vector(2, half, destination: true, allowWider: false);
            ins.Op = Opcode.MovUnpack; ins.V0 = parts[0]; ins.V1 = parts[1];
            Comma(); ins.A = Src(type);
            return ins;
        }
        ins.D = Dest(type);
        Comma();
        if (Peek.Is("{"))
        {
            RequireType(at, type, type is PtxType.B64 or PtxType.B32, ".b32 or .b64 for vector packing");
            var half = type == PtxType.B64 ? PtxType.B32 : PtxType.B16;
            var parts = Vector(2, half, destination: false, allowWider: false);
            ins.Op = Opcode.MovPack; ins.V0 = parts[0]; ins.V1 = parts[1];
            return ins;
        }
        var src = Peek;
        if (src.Kind == TokenKind.Word && ParseSpecial(src.Text) is { } special)
        {
            Next();
            if (type is not (PtxType.U32 or PtxType.B32 or PtxType.S32))
                throw Error(src, $"special register {src.Text} is .u32; {_opText} expects {type.Name()}");
            ins.A = Special(special);
            return ins;
        }
        if (src.Kind == TokenKind.Word && (IsSharedVariable(src.Text) || _localVars.ContainsKey(src.Text)))
        {
            Next();
            if (type.Size() < 4 || type.IsFloat()) throw Error(src, $"the address of '{src.Text}' needs mov.u32/.u64/.b32/.b64, found {type.Name()}");
            ins.A = SymbolConstant(src.Text, type);
            return ins;
        }
        ins.A = Src(type);
        return ins;
    }

    /// <summary>A constant register holding a shared or local variable's address in its space.</summary>
    private int SymbolConstant(string name, PtxType type)
    {
        if (SharedOffset(name) is { } so)
        {
            int reg = Constant((ulong)so, type);
            if (so >= ExternBase) _externConstRegs.Add(reg);
            return reg;
        }
        return Constant((ulong)_localVars[name], type);
    }

    private Instruction ParseCvt(Token at, string[] parts, Mods m)
    {
        if (parts.Length < 3) throw Error(at, "cvt needs a destination and a source type, e.g. cvt.rn.f32.s32");
        var dType = PtxTypes.Parse(parts[^2]);
        var aType = PtxTypes.Parse(parts[^1]);
        if (dType is null || aType is null) throw Error(at, $"cvt needs two types at the end, e.g. cvt.rn.f32.s32; found {_opText}");
        m.TakeType(); m.TakeType();
        foreach (var t in new[] { dType.Value, aType.Value })
            if (t == PtxType.Pred || t.IsBits()) throw Error(at, $"cvt does not take {t.Name()}; use .u/.s/.f types");
        var d = dType.Value; var a = aType.Value;
        var rnd = m.TakeOne("rn", "rz", "rm", "rp", "rni", "rzi", "rmi", "rpi");
        bool intRnd = rnd is "rni" or "rzi" or "rmi" or "rpi";
        bool ftz = m.Take("ftz");
        if (ftz && a != PtxType.F32 && d != PtxType.F32) throw Error(at, $"{_opText}: .ftz needs an .f32 source or destination");
        bool sat = m.Take("sat");
        if (a.IsFloat() && !d.IsFloat())
        {
            if (!intRnd) throw Error(at, $"{_opText}: float-to-integer cvt needs an integer rounding modifier (.rni, .rzi, .rmi or .rpi)");
        }
        else if (!a.IsFloat() && d.IsFloat())
        {
            if (rnd is null || intRnd) throw Error(at, $"{_opText}: integer-to-float cvt needs a float rounding modifier (e.g. cvt.rn{d.Name()}{a.Name()})");
        }
        else if (a.IsFloat() && d.IsFloat())
        {
            if (d.Size() < a.Size() && (rnd is null || intRnd)) throw Error(at, $"{_opText}: narrowing float cvt needs a float rounding modifier (e.g. cvt.rn.f32.f64)");
            if (d.Size() > a.Size() && rnd != null) throw Error(at, $"{_opText}: widening float cvt takes no rounding modifier");
            if (d.Size() == a.Size() && rnd != null && !intRnd) throw Error(at, $"{_opText}: same-size float cvt takes only an integer rounding modifier");
        }
        else if (rnd != null) throw Error(at, $"{_opText}: integer-to-integer cvt takes no rounding modifier");
        if (rnd is "rz" or "rm" or "rp") throw Error(at, $"{_opText}: rounding .{rnd} is valid PTX but the emulator implements only .rn");
        var ins = NewInstruction(Opcode.Cvt, at);
        ins.Type = d; ins.Type2 = a; ins.Saturate = sat; ins.Ftz = ftz;
        ins.Mode2 = (byte)(rnd is null ? Rounding.None : Enum.Parse<Rounding>(rnd, ignoreCase: true));
        ins.D = Dest(d, allowWider: true);
        ins.Mode = (byte)_regTypes[ins.D].Size();
        Comma(); ins.A = Src(a, allowWider: true);
        return ins;
    }

    private Instruction ParseCvta(Token at, Mods m)
    {
        bool to = m.Take("to");
        var space = m.TakeOne("global", "shared", "local") ?? throw Error(at, $"{_opText} needs .global, .shared or .local");
        var type = m.TakeType();
        if (type != PtxType.U64) throw Error(at, $"{_opText}: the emulator supports 64-bit addresses only (cvta...u64), found {type.Name()}");
        var ins = NewInstruction(Opcode.Cvta, at);
        ins.Type = type;
        ins.Mode = (byte)(space switch
        {
            "global" => CvtaKind.Identity,
            "shared" => to ? CvtaKind.GenericToShared : CvtaKind.SharedToGeneric,
            _ => to ? CvtaKind.GenericToLocal : CvtaKind.LocalToGeneric,
        });
        ins.D = Dest(type); Comma();
        var src = Peek;
        if (!to && src.Kind == TokenKind.Word && (IsSharedVariable(src.Text) || _localVars.ContainsKey(src.Text)))
        {
            Next();
            ins.A = SymbolConstant(src.Text, type);
        }
        else ins.A = Src(type);
        return ins;
    }

    private StateSpace TakeSpace(Token at, Mods m, bool allowParam)
    {
        var s = m.TakeOne("global", "shared", "local", "param", "const");
        if (s == "const") throw Error(at, ".const space is not supported by the emulator");
        if (s == "param" && !allowParam) throw Error(at, $"{_opText}: .param is read-only in a kernel");
        return s switch
        {
            "global" => StateSpace.Global, "shared" => StateSpace.Shared, "local" => StateSpace.Local,
            "param" => StateSpace.Param, _ => StateSpace.Generic,
        };
    }

    /// <summary>Memory-ordering and cache qualifiers that do not change single-copy semantics here.</summary>
    private void TakeMemoryQualifiers(Token at, Mods m)
    {
        var sem = m.TakeOne("weak", "volatile", "relaxed", "acquire", "release", "acq_rel", "sc");
        if (sem is "relaxed" or "acquire" or "release" or "acq_rel" or "sc") RequireTarget(at, 70, $"memory-ordering qualifier .{sem}");
        m.TakeOne("cta", "gpu", "sys");
        m.TakeOne("ca", "cg", "cs", "lu", "cv", "wb", "wt");
    }

    private int TakeVector(Token at, Mods m, PtxType type)
    {
        var v = m.TakeOne("v2", "v4");
        int n = v == "v2" ? 2 : v == "v4" ? 4 : 1;
        if (n * type.Size() > 16) throw Error(at, $"{_opText}: a vector access is at most 128 bits, .{v}{type.Name()} is {n * type.Size() * 8}");
        return n;
    }

    private Instruction ParseLoad(Token at, Mods m)
    {
        TakeMemoryQualifiers(at, m);
        var space = TakeSpace(at, m, allowParam: true);
        if (m.Take("nc") && space != StateSpace.Global) throw Error(at, $"{_opText}: .nc applies to ld.global only");
        var type = m.TakeType();
        RequireType(at, type, type != PtxType.Pred, "a non-predicate type");
        int n = TakeVector(at, m, type);
        var ins = NewInstruction(space == StateSpace.Param ? Opcode.LdParam : Opcode.Ld, at);
        ins.Type = type; ins.Space = space; ins.Vec = (byte)n;
        bool wider = !type.IsFloat();
        if (n == 1) { ins.V0 = Dest(type, wider); }
        else
        {
            var v = Vector(n, type, destination: true, allowWider: wider);
            ins.V0 = v[0]; ins.V1 = v[1];
            if (n == 4) { ins.V2 = v[2]; ins.V3 = v[3]; }
        }
        ins.Mode = (byte)_regTypes[ins.V0].Size();
        Comma();
        (ins.AddrReg, ins.Offset) = Address(space);
        return ins;
    }

    private Instruction ParseStore(Token at, Mods m)
    {
        TakeMemoryQualifiers(at, m);
        var space = TakeSpace(at, m, allowParam: false);
        var type = m.TakeType();
        RequireType(at, type, type != PtxType.Pred, "a non-predicate type");
        int n = TakeVector(at, m, type);
        var ins = NewInstruction(Opcode.St, at);
        ins.Type = type; ins.Space = space; ins.Vec = (byte)n;
        (ins.AddrReg, ins.Offset) = Address(space);
        Comma();
        bool wider = !type.IsFloat();
        if (n == 1) ins.V0 = Src(type, wider);
        else
        {
            var v = Vector(n, type, destination: false, allowWider: wider);
            ins.V0 = v[0]; ins.V1 = v[1];
            if (n == 4) { ins.V2 = v[2]; ins.V3 = v[3]; }
        }
        return ins;
    }

    private Instruction ParseAtom(bool isRed, Token at, Mods m)
    {
        var sem = m.TakeOne("relaxed", "acquire", "release", "acq_rel");
        if (sem != null) RequireTarget(at, 70, $"atom/red ordering qualifier .{sem}");
        var scope = m.TakeOne("cta", "gpu", "sys");
        if (scope != null) RequireTarget(at, 60, $"atom/red scope qualifier .{scope}");
        var spaceName = m.TakeOne("global", "shared");
        var space = spaceName switch { "global" => StateSpace.Global, "shared" => StateSpace.Shared, _ => StateSpace.Generic };
        var opName = m.TakeOne("add", "min", "max", "exch", "cas", "inc", "dec", "and", "or", "xor")
            ?? throw Error(at, $"{_opText} needs an operation such as .add");
        var op = Enum.Parse<AtomOp>(opName, ignoreCase: true);
        var type = m.TakeType();
        bool ok = op switch
        {
            AtomOp.Add => type is PtxType.U32 or PtxType.S32 or PtxType.U64 or PtxType.F32 or PtxType.F64,
            AtomOp.Inc or AtomOp.Dec => type == PtxType.U32,
            AtomOp.Min or AtomOp.Max => type is PtxType.U32 or PtxType.S32 or PtxType.U64 or PtxType.S64,
            _ => type is PtxType.B32 or PtxType.B64,
        };
        if (!ok) throw Error(at, $"{_opText}: .{opName} is not defined for {type.Name()}");
        if (isRed && op is AtomOp.Cas or AtomOp.Exch) throw Error(at, $"red has no .{opName}; use atom");
        if (type == PtxType.F64 && _smVersion < 60) throw Error(at, $"atom.add.f64 needs sm_60 or higher, module targets sm_{_smVersion}");
        var ins = NewInstruction(isRed ? Opcode.Red : Opcode.Atom, at);
        ins.Type = type; ins.Space = space; ins.Mode = (byte)op;
        if (!isRed) { ins.D = Dest(type); Comma(); }
        (ins.AddrReg, ins.Offset) = Address(space);
        Comma(); ins.B = Src(type);
        if (op == AtomOp.Cas) { Comma(); ins.C = Src(type); }
        return ins;
    }
}
