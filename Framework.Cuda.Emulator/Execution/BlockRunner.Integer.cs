using System.Numerics;
using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Integer arithmetic, setp, cvt and cvta. Values are computed in 64 bits and truncated to the
/// instruction width, which is exact for every PTX integer width.
/// </summary>
internal sealed partial class BlockRunner
{
    private void ExecuteInteger(in Instruction ins, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32, b = rb + ins.B * 32, c = rb + ins.C * 32;
        int bits = ins.Type == PtxType.Pred ? 1 : ins.Type.Size() * 8;
        ulong mask = MaskOf(bits);
        bool signed = ins.Type.IsSigned();
        var op = ins.Op;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            ulong x = r[a + l];
            ulong y = ins.B >= 0 ? r[b + l] : 0;
            ulong result;
            switch (op)
            {
                case Opcode.IAdd or Opcode.ISub: // only the .sat.s32 forms arrive here for IAdd
                {
                    long sx = SignExtend(x, bits), sy = SignExtend(y, bits);
                    long s = op == Opcode.IAdd ? sx + sy : sx - sy;
                    if (ins.Saturate) s = Math.Clamp(s, int.MinValue, int.MaxValue);
                    result = (ulong)s;
                    break;
                }
                case Opcode.IMulLo: result = x * y; break;
                case Opcode.IMulHi or Opcode.IMadHi:
                    result = MulHi(x, y, bits, signed);
                    if (op == Opcode.IMadHi) result += r[c + l];
                    break;
                case Opcode.IDiv:
                    if (y == 0) result = mask; // PTX leaves x/0 undefined; hardware yields all ones
                    else if (signed)
                    {
                        long sx = SignExtend(x, bits), sy = SignExtend(y, bits);
                        result = sy == -1 ? (ulong)(-sx) : (ulong)(sx / sy);
                    }
                    else result = x / y;
                    break;
                case Opcode.IRem:
                    if (y == 0) result = x;
                    else if (signed)
                    {
                        long sx = SignExtend(x, bits), sy = SignExtend(y, bits);
                        result = sy == -1 ? 0 : (ulong)(sx % sy);
                    }
                    else result = x % y;
                    break;
                case Opcode.IMin:
                    result = signed ? (SignExtend(x, bits) <= SignExtend(y, bits) ? x : y) : Math.Min(x, y);
                    break;
                case Opcode.IMax:
                    result = signed ? (SignExtend(x, bits) >= SignExtend(y, bits) ? x : y) : Math.Max(x, y);
                    break;
                case Opcode.And: result = x & y; break;
                case Opcode.Or: result = x | y; break;
                case Opcode.Xor: result = x ^ y; break;
                case Opcode.Not: result = ~x; break;
                case Opcode.Shl: result = y >= (ulong)bits ? 0 : x << (int)y; break;
                case Opcode.Shr:
                    if (signed) result = (ulong)(SignExtend(x, bits) >> (int)Math.Min(y, (ulong)bits - 1));
                    else result = y >= (ulong)bits ? 0 : x >> (int)y;
                    break;
                case Opcode.INeg: result = 0 - x; break;
                case Opcode.Popc: result = (ulong)BitOperations.PopCount(x); break;
                case Opcode.Clz: result = (ulong)(BitOperations.LeadingZeroCount(x) - (64 - bits)); break;
                case Opcode.Brev: result = ReverseBits(x) >> (64 - bits); break;
                case Opcode.IAbs: { long s = SignExtend(x, bits); result = s < 0 ? (ulong)(-s) : (ulong)s; break; }
                default: throw new InvalidOperationException($"opcode {op} reached the integer unit");
            }
            r[d + l] = result & mask;
        }
    }

    private static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        return System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
    }

    private static ulong MulHi(ulong x, ulong y, int bits, bool signed)
    {
        if (bits == 64)
            return signed ? (ulong)Math.BigMul((long)x, (long)y, out _) : Math.BigMul(x, y, out _);
        return signed ? (ulong)((SignExtend(x, bits) * SignExtend(y, bits)) >> bits) : (x * y) >> bits;
    }

    private void ExecuteSetp(in Instruction ins, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, d2 = rb + ins.D2 * 32, a = rb + ins.A * 32, b = rb + ins.B * 32, c = rb + ins.C * 32;
        var type = ins.Type;
        var cmp = (CompareOp)ins.Mode;
        var boolOp = (BoolOp)ins.Mode2;
        int bits = type.Size() * 8;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            bool t;
            if (type.IsFloat())
            {
                double x = type == PtxType.F32 ? (ins.Ftz ? Flush(F(r[a + l])) : F(r[a + l])) : D(r[a + l]);
                double y = type == PtxType.F32 ? (ins.Ftz ? Flush(F(r[b + l])) : F(r[b + l])) : D(r[b + l]);
                t = CompareFloat(cmp, x, y);
            }
            else if (type.IsSigned()) t = CompareInt(cmp, SignExtend(r[a + l], bits), SignExtend(r[b + l], bits), r[a + l], r[b + l]);
            else t = CompareInt(cmp, (long)r[a + l], (long)r[b + l], r[a + l], r[b + l], unsigned: true);
            bool f = !t;
            if (boolOp != BoolOp.None)
            {
                bool pc = (r[c + l] != 0) ^ ins.NegateSource;
                t = Combine(boolOp, t, pc);
                f = Combine(boolOp, f, pc);
            }
            r[d + l] = t ? 1UL : 0UL;
            if (ins.D2 >= 0) r[d2 + l] = f ? 1UL : 0UL;
        }
    }

    private static bool Combine(BoolOp op, bool x, bool y) => op switch
    {
        BoolOp.And => x && y, BoolOp.Or => x || y, _ => x ^ y,
    };

    private static bool CompareFloat(CompareOp cmp, double x, double y)
    {
        bool nan = double.IsNaN(x) || double.IsNaN(y);
        return cmp switch
        {
            CompareOp.Eq => !nan && x == y, CompareOp.Ne => !nan && x != y,
            CompareOp.Lt => !nan && x < y, CompareOp.Le => !nan && x <= y,
            CompareOp.Gt => !nan && x > y, CompareOp.Ge => !nan && x >= y,
            CompareOp.Equ => nan || x == y, CompareOp.Neu => nan || x != y,
            CompareOp.Ltu => nan || x < y, CompareOp.Leu => nan || x <= y,
            CompareOp.Gtu => nan || x > y, CompareOp.Geu => nan || x >= y,
            CompareOp.Num => !nan, _ => nan,
        };
    }

    private static bool CompareInt(CompareOp cmp, long sx, long sy, ulong ux, ulong uy, bool unsigned = false) => cmp switch
    {
        CompareOp.Eq => ux == uy, CompareOp.Ne => ux != uy,
        CompareOp.Lt => unsigned ? ux < uy : sx < sy, CompareOp.Le => unsigned ? ux <= uy : sx <= sy,
        CompareOp.Gt => unsigned ? ux > uy : sx > sy, CompareOp.Ge => unsigned ? ux >= uy : sx >= sy,
        CompareOp.Lo => ux < uy, CompareOp.Ls => ux <= uy, CompareOp.Hi => ux > uy, _ => ux >= uy,
    };

    private void ExecuteCvt(in Instruction ins, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            ulong v = r[a + l];
            if (ins.Ftz && ins.Type2 == PtxType.F32) v = U(Flush(F(v)));
            v = Convert(v, ins.Type, ins.Type2, (Rounding)ins.Mode2, ins.Saturate, ins.Mode);
            if (ins.Ftz && ins.Type == PtxType.F32) v = U(Flush(F(v)));
            r[d + l] = v;
        }
    }

    /// <summary>cvt semantics: float-to-int rounds then saturates; int-to-int truncates unless .sat.</summary>
    internal static ulong Convert(ulong v, PtxType dst, PtxType src, Rounding rnd, bool sat, int destRegBytes)
    {
        int srcBits = src.Size() * 8, dstBits = dst.Size() * 8;
        ulong result;
        if (src.IsFloat())
        {
            double x = src == PtxType.F32 ? F(v) : D(v);
            x = rnd switch
            {
                Rounding.Rni => Math.Round(x, MidpointRounding.ToEven),
                Rounding.Rzi => Math.Truncate(x),
                Rounding.Rmi => Math.Floor(x),
                Rounding.Rpi => Math.Ceiling(x),
                _ => x,
            };
            if (dst.IsFloat())
            {
                if (sat) x = double.IsNaN(x) ? 0 : Math.Clamp(x, 0, 1);
                return dst == PtxType.F32 ? U((float)x) : U(x);
            }
            // NaN to integer (PTX ISA, cvt): 0 when an f32 (or f16) source goes to an integer of at most
            // 32 bits; otherwise (an f64 source, or a 64-bit destination) the destination's most negative
            // value, i.e. only its sign bit set, for unsigned destinations too (the bit pattern F2I writes).
            if (double.IsNaN(x)) result = src != PtxType.F64 && dstBits <= 32 ? 0 : 1UL << (dstBits - 1);
            else if (dst.IsSigned())
            {
                double lo = -Math.Pow(2, dstBits - 1), hi = Math.Pow(2, dstBits - 1);
                result = x <= lo ? (ulong)(long)lo : x >= hi ? (ulong)((long)hi - 1) : (ulong)(long)x;
                if (dstBits == 64 && x >= hi) result = long.MaxValue;
            }
            else
            {
                double hi = Math.Pow(2, dstBits);
                result = x <= 0 ? 0 : x >= hi ? MaskOf(dstBits) : (ulong)x;
            }
        }
        else
        {
            long sx = src.IsSigned() ? SignExtend(v, srcBits) : 0;
            ulong ux = v & MaskOf(srcBits);
            if (dst.IsFloat())
            {
                if (dst == PtxType.F32) return U(src.IsSigned() ? (float)sx : (float)ux);
                return U(src.IsSigned() ? (double)sx : (double)ux);
            }
            result = src.IsSigned() ? (ulong)sx : ux;
            if (sat)
            {
                // Clamp the source value into the destination's range.
                if (dst.IsSigned())
                {
                    long lo = dstBits == 64 ? long.MinValue : -(1L << (dstBits - 1)), hi = dstBits == 64 ? long.MaxValue : (1L << (dstBits - 1)) - 1;
                    if (src.IsSigned()) result = (ulong)Math.Clamp(sx, lo, hi);
                    else result = ux > (ulong)hi ? (ulong)hi : ux;
                }
                else
                {
                    ulong hi = MaskOf(dstBits);
                    if (src.IsSigned()) result = sx < 0 ? 0 : Math.Min((ulong)sx, hi);
                    else result = Math.Min(ux, hi);
                }
            }
        }
        // Narrow to the destination type, then extend into a wider destination register.
        result &= MaskOf(dstBits);
        int regBits = Math.Max(destRegBytes, dst.Size()) * 8;
        if (regBits > dstBits && dst.IsSigned()) result = (ulong)SignExtend(result, dstBits);
        return result & MaskOf(regBits);
    }

    private void ExecuteCvta(in Instruction ins, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32;
        var kind = (CvtaKind)ins.Mode;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            ulong x = r[a + l];
            r[d + l] = kind switch
            {
                CvtaKind.SharedToGeneric => LaunchContext.SharedWindow + x,
                CvtaKind.GenericToShared => x - LaunchContext.SharedWindow,
                CvtaKind.LocalToGeneric => LaunchContext.LocalWindow + x,
                CvtaKind.GenericToLocal => x - LaunchContext.LocalWindow,
                _ => x,
            };
        }
    }
}
