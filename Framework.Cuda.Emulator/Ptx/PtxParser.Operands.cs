using System.Globalization;

namespace Framework.Cuda.Emulator.Ptx;

/// <summary>Operand grammar: registers with type agreement, literals, addresses, vectors.</summary>
internal sealed partial class PtxParser
{
    private string _opText = "";

    /// <summary>A destination register that must agree with <paramref name="type"/>.</summary>
    private int Dest(PtxType type, bool allowWider = false)
    {
        int r = Register(Next(), type, allowWider);
        _dsts.Add(r);
        return r;
    }

    /// <summary>A source: a register agreeing with <paramref name="type"/>, or a literal of that type.</summary>
    private int Src(PtxType type, bool allowWider = false)
    {
        var t = Next();
        bool negative = false;
        if (t.Is("-")) { negative = true; t = Next(); }
        if (t.Kind == TokenKind.Number) return Constant(ParseLiteral(t, negative, type), type);
        if (negative) throw Error(t, $"expected a literal after '-', found {t}");
        int r = Register(t, type, allowWider);
        _srcs.Add(r);
        return r;
    }

    /// <summary>A predicate source with an optional '!' (returned in <paramref name="negated"/>).</summary>
    private int PredSrc(out bool negated)
    {
        negated = false;
        if (Peek.Is("!")) { Next(); negated = true; }
        return Src(PtxType.Pred);
    }

    private int Register(Token t, PtxType type, bool allowWider)
    {
        if (t.Kind != TokenKind.Word) throw Error(t, $"{_opText} expects a register operand, found {t}");
        if (!_regByName.TryGetValue(t.Text, out int r))
        {
            if (ParseSpecial(t.Text) is not null) throw Error(t, $"special register {t.Text} can only be read by mov, e.g. mov.u32 %r1, {t.Text};");
            if (IsSharedVariable(t.Text) || _localVars.ContainsKey(t.Text)) throw Error(t, $"variable '{t.Text}' is not a register; use [{t.Text}] as an address or mov its address");
            if (_params.ContainsKey(t.Text)) throw Error(t, $"parameter '{t.Text}' must be read with ld.param");
            throw Error(t, $"undeclared register {t.Text} (declare it with .reg)");
        }
        var declared = _regTypes[r];
        if (!PtxTypes.Agrees(type, declared, allowWider))
            throw Error(t, $"{_opText} expects a {type.Name()} operand but register {t.Text} is declared {declared.Name()}");
        return r;
    }

    /// <summary>The read-only register holding a constant of a given type (shared per kernel).</summary>
    private int Constant(ulong bits, PtxType type)
    {
        if (_constRegs.TryGetValue((bits, type), out int r)) return r;
        r = AddRegister("constant", type == PtxType.None ? PtxType.B64 : type, RegKind.Constant);
        _constRegs[(bits, type)] = r;
        _constants.Add((r, bits));
        return r;
    }

    /// <summary>The register mirroring a special register such as %tid.x.</summary>
    private int Special(SpecialRegister s)
    {
        if (_specialRegs.TryGetValue(s, out int r)) return r;
        r = AddRegister(s.ToString(), PtxType.U32, RegKind.Special);
        _specialRegs[s] = r;
        return r;
    }

    private static SpecialRegister? ParseSpecial(string text) => text switch
    {
        "%tid.x" => SpecialRegister.TidX, "%tid.y" => SpecialRegister.TidY, "%tid.z" => SpecialRegister.TidZ,
        "%ntid.x" => SpecialRegister.NtidX, "%ntid.y" => SpecialRegister.NtidY, "%ntid.z" => SpecialRegister.NtidZ,
        "%ctaid.x" => SpecialRegister.CtaidX, "%ctaid.y" => SpecialRegister.CtaidY, "%ctaid.z" => SpecialRegister.CtaidZ,
        "%nctaid.x" => SpecialRegister.NctaidX, "%nctaid.y" => SpecialRegister.NctaidY, "%nctaid.z" => SpecialRegister.NctaidZ,
        "%laneid" => SpecialRegister.LaneId, "%warpid" => SpecialRegister.WarpId,
        _ => null,
    };

    /// <summary>
    /// A literal converted to the bits a register of <paramref name="type"/> holds (zero-extended).
    /// Integers: decimal, 0x hex, 0b binary, leading-0 octal, optional U suffix. Floats: 0f + 8 hex
    /// digits (f32 bits), 0d + 16 hex digits (f64 bits), or a decimal with a point.
    /// </summary>
    private ulong ParseLiteral(Token t, bool negative, PtxType type)
    {
        string s = t.Text;
        if (s.Length > 2 && s[0] == '0' && (s[1] is 'f' or 'F' or 'd' or 'D'))
        {
            bool single = s[1] is 'f' or 'F';
            int digits = single ? 8 : 16;
            if (s.Length != 2 + digits || !ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong bits))
                throw Error(t, $"float literal {s} must be 0{s[1]} followed by exactly {digits} hex digits");
            if (single ? type is not (PtxType.F32 or PtxType.B32) : type is not (PtxType.F64 or PtxType.B64))
                throw Error(t, $"literal {s} is {(single ? ".f32" : ".f64")} bits but {_opText} expects {type.Name()}");
            if (negative) bits ^= single ? 0x8000_0000UL : 0x8000_0000_0000_0000UL;
            return bits;
        }
        if (s.Contains('.'))
        {
            if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d))
                throw Error(t, $"malformed float literal {s}");
            if (negative) d = -d;
            return type switch
            {
                PtxType.F32 => (uint)BitConverter.SingleToInt32Bits((float)d),
                PtxType.F64 => (ulong)BitConverter.DoubleToInt64Bits(d),
                _ => throw Error(t, $"float literal {s} where {_opText} expects {type.Name()}"),
            };
        }
        if (!TryParseInteger(s, out ulong value)) throw Error(t, $"malformed integer literal {s}");
        if (type.IsFloat()) throw Error(t, $"integer literal {s} where {_opText} expects {type.Name()}; write a float literal such as 0f3F800000 or 1.0");
        if (negative) value = 0 - value;
        if (type == PtxType.Pred) return value != 0 ? 1UL : 0UL;
        int size = type.Size();
        return size >= 8 || size == 0 ? value : value & ((1UL << (size * 8)) - 1);
    }

    private static bool TryParseInteger(string s, out ulong value)
    {
        value = 0;
        if (s.EndsWith('U')) s = s[..^1];
        if (s.Length == 0) return false;
        int radix = 10, start = 0;
        if (s.Length > 2 && s[0] == '0' && (s[1] is 'x' or 'X')) { radix = 16; start = 2; }
        else if (s.Length > 2 && s[0] == '0' && (s[1] is 'b' or 'B')) { radix = 2; start = 2; }
        else if (s.Length > 1 && s[0] == '0') { radix = 8; start = 1; }
        for (int i = start; i < s.Length; i++)
        {
            int digit = char.IsAsciiDigit(s[i]) ? s[i] - '0' : char.IsAsciiHexDigit(s[i]) ? char.ToLowerInvariant(s[i]) - 'a' + 10 : 99;
            if (digit >= radix) return false;
            value = unchecked(value * (ulong)radix + (ulong)digit);
        }
        return true;
    }

    /// <summary>
    /// An address <c>[reg]</c>, <c>[reg+imm]</c>, <c>[var]</c>, <c>[var+imm]</c> or <c>[imm]</c>. A
    /// variable resolves to its offset in its space, which must match <paramref name="space"/> (a
    /// generic access to a variable is rejected: take its address with cvta first).
    /// </summary>
    private (int Reg, long Offset) Address(StateSpace space)
    {
        Expect("[", $"to open the address of {_opText}");
        int reg = -1;
        long offset = 0;
        var t = Next();
        if (t.Kind == TokenKind.Number)
        {
            if (!TryParseInteger(t.Text, out ulong abs)) throw Error(t, $"malformed address {t.Text}");
            offset = (long)abs;
        }
        else if (t.Kind == TokenKind.Word)
        {
            if (_regByName.TryGetValue(t.Text, out int r))
            {
                if (_regTypes[r] is not (PtxType.U64 or PtxType.S64 or PtxType.B64 or PtxType.U32 or PtxType.S32 or PtxType.B32))
                    throw Error(t, $"address register {t.Text} must be an integer register, found {_regTypes[r].Name()}");
                if (space is StateSpace.Global or StateSpace.Generic && _regTypes[r].Size() != 8)
                    throw Error(t, $"{space.ToString().ToLowerInvariant()} addresses are 64-bit but {t.Text} is {_regTypes[r].Name()}");
                reg = r;
                _srcs.Add(r);
            }
            else if (SharedOffset(t.Text) is { } so)
            {
                if (space != StateSpace.Shared) throw Error(t, $"shared variable '{t.Text}' used with {_opText}; use ld.shared/st.shared (or cvta.shared for a generic address)");
                offset = so;
            }
            else if (_localVars.TryGetValue(t.Text, out int lo))
            {
                if (space != StateSpace.Local) throw Error(t, $"local variable '{t.Text}' used with {_opText}; use ld.local/st.local");
                offset = lo;
            }
            else if (_params.TryGetValue(t.Text, out var p))
            {
                if (space != StateSpace.Param) throw Error(t, $"parameter '{t.Text}' must be read with ld.param, not {_opText}");
                offset = p.Offset;
            }
            else if (t.Text.StartsWith('%')) throw Error(t, $"undeclared register {t.Text} (declare it with .reg)");
            else throw Error(t, $"unknown variable '{t.Text}' in address");
        }
        else throw Error(t, $"expected a register, variable or number in the address, found {t}");
        if (Peek.Is("+") || Peek.Is("-"))
        {
            bool minus = Next().Is("-");
            var n = Next();
            if (n.Kind == TokenKind.Punct && n.Is("-")) { minus = !minus; n = Next(); }
            if (n.Kind != TokenKind.Number || !TryParseInteger(n.Text, out ulong imm)) throw Error(n, $"expected an integer offset in the address, found {n}");
            offset += minus ? -(long)imm : (long)imm;
        }
        Expect("]", "to close the address");
        if (space == StateSpace.Param && reg >= 0) throw Error(t, "ld.param needs a parameter name, e.g. [kernel_param_0]");
        return (reg, offset);
    }

    /// <summary>A brace-enclosed vector of <paramref name="count"/> registers (sources or destinations).</summary>
    private int[] Vector(int count, PtxType type, bool destination, bool allowWider)
    {
        Expect("{", $"to open the {count}-element vector of {_opText}");
        var regs = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (i > 0) Expect(",", "between vector elements");
            regs[i] = destination ? Dest(type, allowWider) : Src(type, allowWider);
        }
        var close = Next();
        if (!close.Is("}")) throw Error(close, $"{_opText} takes a {count}-element vector, expected '}}' found {close}");
        return regs;
    }
}
