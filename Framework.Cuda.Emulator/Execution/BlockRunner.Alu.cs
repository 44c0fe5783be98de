using System.Numerics;
using System.Runtime.CompilerServices;
using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>Arithmetic, logic, comparison, moves and conversions: one lane loop per instruction.</summary>
internal sealed partial class BlockRunner
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static float F(ulong v) => BitConverter.Int32BitsToSingle((int)(uint)v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static ulong U(float f) => (uint)BitConverter.SingleToInt32Bits(f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static double D(ulong v) => BitConverter.Int64BitsToDouble((long)v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static ulong U(double d) => (ulong)BitConverter.DoubleToInt64Bits(d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static int Lane(uint m) => BitOperations.TrailingZeroCount(m);

    private static ulong MaskOf(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
    private static long SignExtend(ulong v, int bits) => bits >= 64 ? (long)v : (long)(v << (64 - bits)) >> (64 - bits);

    /// <summary>PTX min/max: a NaN operand yields the other operand.</summary>
    private static float MinF(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Min(a, b);
    private static float MaxF(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Max(a, b);
    private static double MinD(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Min(a, b);
    private static double MaxD(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b);
    private static float Sat(float x) => x > 0f ? (x < 1f ? x : 1f) : 0f; // NaN -> 0, as .sat specifies

    /// <summary>f32 subnormal to sign-preserving zero, as .ftz specifies for inputs and results.</summary>
    internal static float Flush(float x) => float.IsSubnormal(x) ? (float.IsNegative(x) ? -0f : 0f) : x;

    /// <summary>The .ftz forms of the f32 instructions: flush the inputs, compute, flush the result.</summary>
    private void ExecuteFlushToZero(in Instruction ins, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32, b = rb + ins.B * 32, c = rb + ins.C * 32;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            float x = Flush(F(r[a + l]));
            float y = ins.B >= 0 ? Flush(F(r[b + l])) : 0f;
            float z = ins.C >= 0 ? Flush(F(r[c + l])) : 0f;
            float result = ins.Op switch
            {
                Opcode.FAdd32 => x + y, Opcode.FSub32 => x - y, Opcode.FMul32 => x * y,
                Opcode.FFma32 => MathF.FusedMultiplyAdd(x, y, z), Opcode.FDiv32 => x / y,
                Opcode.FMin32 => ins.Mode == 1 && (float.IsNaN(x) || float.IsNaN(y)) ? float.NaN : MinF(x, y),
                Opcode.FMax32 => ins.Mode == 1 && (float.IsNaN(x) || float.IsNaN(y)) ? float.NaN : MaxF(x, y),
                Opcode.FNeg32 => -x, Opcode.FAbs32 => MathF.Abs(x), Opcode.FRcp32 => 1f / x,
                Opcode.FSqrt32 => MathF.Sqrt(x), Opcode.FRsqrt32 => 1f / MathF.Sqrt(x),
                Opcode.FEx2 => MathF.Pow(2f, x), Opcode.FLg2 => MathF.Log2(x),
                Opcode.FSin => MathF.Sin(x), _ => MathF.Cos(x),
            };
            result = Flush(result);
            if (ins.Saturate) result = Sat(result);
            r[d + l] = U(result);
        }
    }

    /// <summary>min/max.NaN: a NaN operand makes the result the canonical NaN.</summary>
    private void MinMaxPropagatingNaN(in Instruction ins, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32, b = rb + ins.B * 32;
        bool isMin = ins.Op is Opcode.FMin32 or Opcode.FMin64;
        bool f32 = ins.Op is Opcode.FMin32 or Opcode.FMax32;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            if (f32)
            {
                float x = F(r[a + l]), y = F(r[b + l]);
                r[d + l] = float.IsNaN(x) || float.IsNaN(y) ? 0x7FFF_FFFFUL : U(isMin ? MinF(x, y) : MaxF(x, y));
            }
            else
            {
                double x = D(r[a + l]), y = D(r[b + l]);
                r[d + l] = double.IsNaN(x) || double.IsNaN(y) ? 0x7FFF_FFFF_FFFF_FFFFUL : U(isMin ? MinD(x, y) : MaxD(x, y));
            }
        }
    }

    /// <summary>Executes a non-control instruction for the lanes in <paramref name="exec"/>.</summary>
    private void Execute(in Instruction ins, int w, int rb, uint exec)
    {
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32, b = rb + ins.B * 32, c = rb + ins.C * 32;
        if (ins.Ftz && ins.Op is >= Opcode.FAdd32 and <= Opcode.FCos)
        {
            ExecuteFlushToZero(in ins, rb, exec);
            return;
        }
        switch (ins.Op)
        {
            case Opcode.Mov:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[a + l]; }
                return;
            case Opcode.FAdd32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(F(r[a + l]) + F(r[b + l])); }
                break;
            case Opcode.FSub32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(F(r[a + l]) - F(r[b + l])); }
                break;
            case Opcode.FMul32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(F(r[a + l]) * F(r[b + l])); }
                break;
            case Opcode.FFma32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MathF.FusedMultiplyAdd(F(r[a + l]), F(r[b + l]), F(r[c + l]))); }
                break;
            case Opcode.FDiv32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(F(r[a + l]) / F(r[b + l])); }
                return;
            case Opcode.FMin32 or Opcode.FMax32 or Opcode.FMin64 or Opcode.FMax64 when ins.Mode == 1:
                MinMaxPropagatingNaN(in ins, rb, exec);
                return;
            case Opcode.FMin32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MinF(F(r[a + l]), F(r[b + l]))); }
                return;
            case Opcode.FMax32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MaxF(F(r[a + l]), F(r[b + l]))); }
                return;
            case Opcode.FNeg32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[a + l] ^ 0x8000_0000UL; }
                return;
            case Opcode.FAbs32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[a + l] & 0x7FFF_FFFFUL; }
                return;
            case Opcode.FRcp32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(1f / F(r[a + l])); }
                return;
            case Opcode.FSqrt32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MathF.Sqrt(F(r[a + l]))); }
                return;
            case Opcode.FRsqrt32:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(1f / MathF.Sqrt(F(r[a + l]))); }
                return;
            case Opcode.FEx2:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MathF.Pow(2f, F(r[a + l]))); }
                return;
            case Opcode.FLg2:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MathF.Log2(F(r[a + l]))); }
                return;
            case Opcode.FSin:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MathF.Sin(F(r[a + l]))); }
                return;
            case Opcode.FCos:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MathF.Cos(F(r[a + l]))); }
                return;
            case Opcode.FAdd64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(D(r[a + l]) + D(r[b + l])); }
                return;
            case Opcode.FSub64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(D(r[a + l]) - D(r[b + l])); }
                return;
            case Opcode.FMul64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(D(r[a + l]) * D(r[b + l])); }
                return;
            case Opcode.FFma64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(Math.FusedMultiplyAdd(D(r[a + l]), D(r[b + l]), D(r[c + l]))); }
                return;
            case Opcode.FDiv64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(D(r[a + l]) / D(r[b + l])); }
                return;
            case Opcode.FMin64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MinD(D(r[a + l]), D(r[b + l]))); }
                return;
            case Opcode.FMax64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(MaxD(D(r[a + l]), D(r[b + l]))); }
                return;
            case Opcode.FNeg64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[a + l] ^ 0x8000_0000_0000_0000UL; }
                return;
            case Opcode.FAbs64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[a + l] & 0x7FFF_FFFF_FFFF_FFFFUL; }
                return;
            case Opcode.FRcp64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(1.0 / D(r[a + l])); }
                return;
            case Opcode.FSqrt64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(Math.Sqrt(D(r[a + l]))); }
                return;
            case Opcode.FRsqrt64:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(1.0 / Math.Sqrt(D(r[a + l]))); }
                return;
            case Opcode.IAdd when !ins.Saturate:
            {
                ulong mask = MaskOf(ins.Type.Size() * 8);
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = (r[a + l] + r[b + l]) & mask; }
                return;
            }
            case Opcode.IMadLo:
            {
                ulong mask = MaskOf(ins.Type.Size() * 8);
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = (r[a + l] * r[b + l] + r[c + l]) & mask; }
                return;
            }
            case Opcode.IMulWide or Opcode.IMadWide:
            {
                int bits = ins.Type.Size() * 8;
                bool signed = ins.Type.IsSigned();
                ulong mask = MaskOf(bits * 2);
                bool mad = ins.Op == Opcode.IMadWide;
                for (uint m = exec; m != 0; m &= m - 1)
                {
                    int l = Lane(m);
                    ulong p = signed ? (ulong)(SignExtend(r[a + l], bits) * SignExtend(r[b + l], bits)) : r[a + l] * r[b + l];
                    if (mad) p += r[c + l];
                    r[d + l] = p & mask;
                }
                return;
            }
            case Opcode.Selp:
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[c + l] != 0 ? r[a + l] : r[b + l]; }
                return;
            case Opcode.Setp:
                ExecuteSetp(in ins, rb, exec);
                return;
            case Opcode.Cvt:
                ExecuteCvt(in ins, rb, exec);
                return;
            case Opcode.Cvta:
                ExecuteCvta(in ins, rb, exec);
                return;
            case Opcode.MovPack:
            {
                int half = ins.Type.Size() * 4, v0 = rb + ins.V0 * 32, v1 = rb + ins.V1 * 32;
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = r[v0 + l] | (r[v1 + l] << half); }
                return;
            }
            case Opcode.MovUnpack:
            {
                int half = ins.Type.Size() * 4, v0 = rb + ins.V0 * 32, v1 = rb + ins.V1 * 32;
                ulong mask = MaskOf(half);
                for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); ulong v = r[a + l]; r[v0 + l] = v & mask; r[v1 + l] = (v >> half) & mask; }
                return;
            }
            case Opcode.Ld or Opcode.St or Opcode.LdParam or Opcode.Atom or Opcode.Red:
                ExecuteMemory(in ins, w, rb, exec);
                return;
            case Opcode.Shfl:
                ExecuteShfl(in ins, w, rb, exec);
                return;
            case Opcode.Vote:
                ExecuteVote(in ins, w, rb, exec);
                return;
            case Opcode.WarpSync:
                ExecuteWarpSync(in ins, w, rb, exec);
                return;
            case Opcode.Membar or Opcode.Nop:
                return;
            default:
                ExecuteInteger(in ins, rb, exec);
                return;
        }
        // Only the f32 add/sub/mul/fma family reaches here: apply .sat if present.
        if (ins.Saturate)
            for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); r[d + l] = U(Sat(F(r[d + l]))); }
    }
}
