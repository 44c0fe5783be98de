namespace Framework.Cuda.Emulator.Ptx;

/// <summary>Statement decoding: guard, opcode and modifiers, dispatch to the per-family decoders.</summary>
internal sealed partial class PtxParser
{
    /// <summary>The dotted modifiers of one opcode word, consumed as they are recognized.</summary>
    private sealed class Mods
    {
        private readonly List<string> _parts;
        private readonly PtxParser _p;
        private readonly Token _at;

        public Mods(PtxParser parser, Token at, string[] parts)
        {
            _p = parser; _at = at;
            _parts = parts.Skip(1).ToList();
        }

        public bool Take(string s) => _parts.Remove(s);

        /// <summary>Takes at most one of <paramref name="options"/>; two of them is an error.</summary>
        public string? TakeOne(params string[] options)
        {
            string? found = null;
            foreach (var o in options)
            {
                if (!_parts.Contains(o)) continue;
                if (found != null) throw _p.Error(_at, $"{_p._opText} has both .{found} and .{o}");
                found = o;
                _parts.Remove(o);
            }
            return found;
        }

        /// <summary>The instruction type: the last type-looking part.</summary>
        public PtxType TakeType()
        {
            for (int i = _parts.Count - 1; i >= 0; i--)
            {
                if (PtxTypes.Parse(_parts[i]) is { } t) { _parts.RemoveAt(i); return t; }
            }
            throw _p.Error(_at, $"{_p._opText} needs a type suffix such as .f32 or .u32");
        }

        public void Done()
        {
            if (_parts.Count > 0) throw _p.Error(_at, $"unsupported modifier .{_parts[0]} on {_p._opText}");
        }
    }

    private void ParseStatement()
    {
        int guard = -1;
        bool guardNegated = false;
        if (Peek.Is("@"))
        {
            Next();
            if (Peek.Is("!")) { Next(); guardNegated = true; }
            var g = Next();
            _opText = "a guard";
            guard = Register(g, PtxType.Pred, false);
        }
        var opTok = ExpectWord("an instruction");
        if (opTok.Text.StartsWith('.')) throw Error(opTok, $"unsupported directive {opTok.Text} in a kernel body");
        _opText = opTok.Text;
        var parts = opTok.Text.Split('.');
        var m = new Mods(this, opTok, parts);
        Instruction ins = parts[0] switch
        {
            "add" or "sub" or "mul" or "mad" or "fma" or "div" or "rem" or "min" or "max" => ParseArithmetic(parts[0], opTok, m),
            "neg" or "abs" or "rcp" or "sqrt" or "rsqrt" or "ex2" or "lg2" or "sin" or "cos" => ParseUnary(parts[0], opTok, m),
            "and" or "or" or "xor" or "not" or "shl" or "shr" or "popc" or "clz" or "brev" => ParseLogic(parts[0], opTok, m),
            "setp" => ParseSetp(opTok, m),
            "selp" => ParseSelp(opTok, m),
            "mov" => ParseMov(opTok, m),
            "cvt" => ParseCvt(opTok, parts, m),
            "cvta" => ParseCvta(opTok, m),
            "ld" => ParseLoad(opTok, m),
            "st" => ParseStore(opTok, m),
            "atom" or "red" => ParseAtom(parts[0] == "red", opTok, m),
            "bra" => ParseBranch(opTok, m),
            "ret" or "exit" => ParseExit(opTok, m),
            "bar" or "barrier" => ParseBarrier(opTok, m),
            "shfl" => ParseShfl(opTok, m),
            "vote" => ParseVote(opTok, m),
            "membar" or "fence" => ParseFence(parts[0], opTok, m),
            _ => throw Error(opTok, $"unknown or unsupported instruction '{parts[0]}'"),
        };
        m.Done();
        ins.Guard = guard;
        ins.GuardNegated = guardNegated;
        var end = Next();
        if (!end.Is(";")) throw Error(end, $"expected ';' after {_opText}, found {end}");
        Emit(ref ins);
    }

    private void Comma() => Expect(",", $"between the operands of {_opText}");

    private Instruction Binary(Opcode op, Token at, PtxType type)
    {
        var ins = NewInstruction(op, at);
        ins.Type = type;
        ins.D = Dest(type); Comma(); ins.A = Src(type); Comma(); ins.B = Src(type);
        return ins;
    }

    private Instruction Ternary(Opcode op, Token at, PtxType type)
    {
        var ins = Binary(op, at, type);
        Comma(); ins.C = Src(type);
        return ins;
    }

    private Instruction UnaryOp(Opcode op, Token at, PtxType type)
    {
        var ins = NewInstruction(op, at);
        ins.Type = type;
        ins.D = Dest(type); Comma(); ins.A = Src(type);
        return ins;
    }

    private static bool IsArithInt(PtxType t) => t.IsInteger() && t.Size() >= 2;

    private void RequireType(Token at, PtxType type, bool ok, string allowed)
    {
        if (!ok) throw Error(at, $"{_opText}: type {type.Name()} is not allowed, expected {allowed}");
    }

    /// <summary>Float rounding (.rn .rz .rm .rp). Only .rn is emulated; the others are rejected honestly.</summary>
    private bool TakeFloatRounding(Token at, Mods m)
    {
        var r = m.TakeOne("rn", "rz", "rm", "rp");
        if (r is not null and not "rn") throw Error(at, $"{_opText}: rounding .{r} is valid PTX but the emulator implements only .rn");
        return r is not null;
    }

    private (Opcode F32, Opcode F64) FloatOps(string name) => name switch
    {
        "add" => (Opcode.FAdd32, Opcode.FAdd64), "sub" => (Opcode.FSub32, Opcode.FSub64),
        "mul" => (Opcode.FMul32, Opcode.FMul64), "fma" or "mad" => (Opcode.FFma32, Opcode.FFma64),
        "div" => (Opcode.FDiv32, Opcode.FDiv64), "min" => (Opcode.FMin32, Opcode.FMin64),
        "max" => (Opcode.FMax32, Opcode.FMax64), "neg" => (Opcode.FNeg32, Opcode.FNeg64),
        "abs" => (Opcode.FAbs32, Opcode.FAbs64), "rcp" => (Opcode.FRcp32, Opcode.FRcp64),
        "sqrt" => (Opcode.FSqrt32, Opcode.FSqrt64), "rsqrt" => (Opcode.FRsqrt32, Opcode.FRsqrt64),
        "ex2" => (Opcode.FEx2, Opcode.Nop), "lg2" => (Opcode.FLg2, Opcode.Nop),
        "sin" => (Opcode.FSin, Opcode.Nop), "cos" => (Opcode.FCos, Opcode.Nop),
        _ => (Opcode.Nop, Opcode.Nop),
    };

    private Instruction ParseArithmetic(string name, Token at, Mods m)
    {
        var type = m.TakeType();
        if (type.IsFloat())
        {
            var (op32, op64) = FloatOps(name);
            if (name == "rem") throw Error(at, "rem is defined for integer types only");
            bool rounded = TakeFloatRounding(at, m);
            bool ftz = m.Take("ftz");
            if (ftz && type != PtxType.F32) throw Error(at, $"{_opText}: .ftz applies to .f32 only");
            bool sat = false;
            if (name is "add" or "sub" or "mul" or "fma" or "mad") sat = type == PtxType.F32 && m.Take("sat");
            bool propagateNaN = false;
            if (name is "min" or "max")
            {
                propagateNaN = m.Take("NaN");
                if (rounded) throw Error(at, $"{_opText}: {name} takes no rounding modifier");
            }
            if (name is "fma" or "mad" && !rounded)
                throw Error(at, $"{_opText} needs a rounding modifier (e.g. {name}.rn{type.Name()})");
            if (name == "div")
            {
                bool approx = type == PtxType.F32 && m.TakeOne("approx", "full") != null;
                if (!rounded && !approx)
                    throw Error(at, type == PtxType.F32
                        ? $"{_opText} needs .approx, .full or a rounding modifier (e.g. div.rn.f32)"
                        : $"{_opText} needs a rounding modifier (e.g. div.rn.f64)");
                if (approx && rounded) throw Error(at, $"{_opText}: .approx/.full cannot be combined with a rounding modifier");
            }
            var ins = name is "fma" or "mad" ? Ternary(type == PtxType.F32 ? op32 : op64, at, type) : Binary(type == PtxType.F32 ? op32 : op64, at, type);
            ins.Saturate = sat;
            ins.Ftz = ftz;
            ins.Mode = propagateNaN ? (byte)1 : (byte)0;
            return ins;
        }
        RequireType(at, type, IsArithInt(type), ".u16/.u32/.u64/.s16/.s32/.s64 or .f32/.f64");
        switch (name)
        {
            case "add" or "sub":
            {
                bool sat = m.Take("sat");
                if (sat && type != PtxType.S32) throw Error(at, $"{_opText}: .sat applies to .s32 only");
                var ins = Binary(name == "add" ? Opcode.IAdd : Opcode.ISub, at, type);
                ins.Saturate = sat;
                return ins;
            }
            case "mul" or "mad":
            {
                var mode = m.TakeOne("lo", "hi", "wide");
                if (mode is null) throw Error(at, $"integer {_opText} needs .lo, .hi or .wide (e.g. {name}.lo{type.Name()})");
                if (mode == "wide")
                {
                    if (type.Size() > 4) throw Error(at, $"{name}.wide needs a 16- or 32-bit source type, found {type.Name()}");
                    var wide = WidenType(type);
                    var w = NewInstruction(name == "mul" ? Opcode.IMulWide : Opcode.IMadWide, at);
                    w.Type = type; w.Type2 = wide;
                    w.D = Dest(wide); Comma(); w.A = Src(type); Comma(); w.B = Src(type);
                    if (name == "mad") { Comma(); w.C = Src(wide); }
                    return w;
                }
                var op = (name, mode) switch
                {
                    ("mul", "lo") => Opcode.IMulLo, ("mul", _) => Opcode.IMulHi,
                    ("mad", "lo") => Opcode.IMadLo, _ => Opcode.IMadHi,
                };
                return name == "mul" ? Binary(op, at, type) : Ternary(op, at, type);
            }
            case "div": return Binary(Opcode.IDiv, at, type);
            case "rem": return Binary(Opcode.IRem, at, type);
            case "min": return Binary(Opcode.IMin, at, type);
            case "max": return Binary(Opcode.IMax, at, type);
            default: throw Error(at, $"{_opText} is not defined for integer types");
        }
    }

    private static PtxType WidenType(PtxType t) => t switch
    {
        PtxType.U16 => PtxType.U32, PtxType.S16 => PtxType.S32,
        PtxType.U32 => PtxType.U64, _ => PtxType.S64,
    };

    private Instruction ParseUnary(string name, Token at, Mods m)
    {
        var type = m.TakeType();
        if (name is "neg" or "abs")
        {
            if (type.IsFloat())
            {
                bool flush = m.Take("ftz");
                if (flush && type != PtxType.F32) throw Error(at, $"{_opText}: .ftz applies to .f32 only");
                var (a, b) = FloatOps(name);
                var neg = UnaryOp(type == PtxType.F32 ? a : b, at, type);
                neg.Ftz = flush;
                return neg;
            }
            RequireType(at, type, type is PtxType.S16 or PtxType.S32 or PtxType.S64, ".s16/.s32/.s64/.f32/.f64");
            return UnaryOp(name == "neg" ? Opcode.INeg : Opcode.IAbs, at, type);
        }
        RequireType(at, type, type.IsFloat(), ".f32 or .f64");
        var (op32, op64) = FloatOps(name);
        bool ftz = m.Take("ftz");
        if (name is "rcp" or "sqrt")
        {
            bool approx = m.Take("approx");
            bool rounded = TakeFloatRounding(at, m);
            if (!approx && !rounded) throw Error(at, $"{_opText} needs .approx or a rounding modifier (e.g. {name}.rn{type.Name()})");
            if (approx && rounded) throw Error(at, $"{_opText}: .approx cannot be combined with a rounding modifier");
            if (type == PtxType.F64 && approx && !(name == "rcp" && ftz))
                throw Error(at, $"{_opText}: f64 needs a rounding modifier (only rcp.approx.ftz.f64 is approximate)");
            if (type == PtxType.F64 && ftz && !approx) throw Error(at, $"{_opText}: .ftz applies to .f32 only");
        }
        else
        {
            if (!m.Take("approx")) throw Error(at, $"{_opText} needs .approx (e.g. {name}.approx.f32)");
            if (type == PtxType.F64 && name != "rsqrt") throw Error(at, $"{name} is defined for .f32 only");
        }
        var unary = UnaryOp(type == PtxType.F32 ? op32 : op64, at, type);
        unary.Ftz = ftz && type == PtxType.F32;
        return unary;
    }

    private Instruction ParseLogic(string name, Token at, Mods m)
    {
        var type = m.TakeType();
        if (name is "shl" or "shr")
        {
            bool ok = name == "shl" ? type is PtxType.B16 or PtxType.B32 or PtxType.B64 : type.IsBits() || IsArithInt(type);
            RequireType(at, type, ok && type.Size() >= 2, name == "shl" ? ".b16/.b32/.b64" : ".b/.u/.s 16, 32 or 64");
            var ins = NewInstruction(name == "shl" ? Opcode.Shl : Opcode.Shr, at);
            ins.Type = type;
            ins.D = Dest(type); Comma(); ins.A = Src(type); Comma(); ins.B = Src(PtxType.U32);
            return ins;
        }
        if (name is "popc" or "clz" or "brev")
        {
            RequireType(at, type, type is PtxType.B32 or PtxType.B64, ".b32 or .b64");
            var bitOp = NewInstruction(name == "popc" ? Opcode.Popc : name == "clz" ? Opcode.Clz : Opcode.Brev, at);
            bitOp.Type = type;
            bitOp.D = Dest(name == "brev" ? type : PtxType.U32); Comma(); bitOp.A = Src(type);
            return bitOp;
        }
        RequireType(at, type, type is PtxType.Pred or PtxType.B16 or PtxType.B32 or PtxType.B64, ".pred/.b16/.b32/.b64");
        return name switch
        {
            "and" => Binary(Opcode.And, at, type), "or" => Binary(Opcode.Or, at, type),
            "xor" => Binary(Opcode.Xor, at, type), _ => UnaryOp(Opcode.Not, at, type),
        };
    }

    private Instruction ParseSetp(Token at, Mods m)
    {
        var type = m.TakeType();
        RequireType(at, type, type != PtxType.Pred && type.Size() >= 2, "a 16/32/64-bit integer, bit or float type");
        var cmpName = m.TakeOne("eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs", "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan")
            ?? throw Error(at, $"{_opText} needs a comparison such as .lt");
        var cmp = Enum.Parse<CompareOp>(cmpName, ignoreCase: true);
        bool ok = type.IsFloat() ? cmp is not (CompareOp.Lo or CompareOp.Ls or CompareOp.Hi or CompareOp.Hs)
            : type.IsBits() ? cmp is CompareOp.Eq or CompareOp.Ne
            : type.IsSigned() ? cmp <= CompareOp.Ge : cmp <= CompareOp.Hs;
        if (!ok) throw Error(at, $"comparison .{cmpName} is not defined for {type.Name()}");
        bool setpFtz = m.Take("ftz");
        if (setpFtz && type != PtxType.F32) throw Error(at, $"{_opText}: .ftz applies to .f32 only");
        var boolName = m.TakeOne("and", "or", "xor");
        var ins = NewInstruction(Opcode.Setp, at);
        ins.Type = type; ins.Mode = (byte)cmp; ins.Ftz = setpFtz;
        ins.Mode2 = (byte)(boolName switch { "and" => BoolOp.And, "or" => BoolOp.Or, "xor" => BoolOp.Xor, _ => BoolOp.None });
        ins.D = Dest(PtxType.Pred);
        if (Peek.Is("|")) { Next(); ins.D2 = Dest(PtxType.Pred); }
        Comma(); ins.A = Src(type); Comma(); ins.B = Src(type);
        if (boolName != null)
        {
            Comma();
            ins.C = PredSrc(out bool neg);
            ins.NegateSource = neg;
        }
        return ins;
    }

    private Instruction ParseSelp(Token at, Mods m)
    {
        var type = m.TakeType();
        RequireType(at, type, type != PtxType.Pred && type.Size() >= 2, "a 16/32/64-bit type");
        var ins = Binary(Opcode.Selp, at, type);
        Comma(); ins.C = Src(PtxType.Pred);
        return ins;
    }
}
