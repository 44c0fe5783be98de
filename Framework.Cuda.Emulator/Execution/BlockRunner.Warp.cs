using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// shfl.sync and vote.sync. The lanes executing together are those min-PC scheduling grouped at this
/// instruction; every lane a member mask names must be among them, and every executing lane must be
/// in its own mask, otherwise the result on hardware is undefined and the emulator fails the launch.
/// </summary>
internal sealed partial class BlockRunner
{
    private void CheckMembers(in Instruction ins, int w, int rb, uint exec, string what)
    {
        int maskReg = rb + ins.E * 32;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            uint members = (uint)_r[maskReg + l];
            if ((members & (1u << l)) == 0)
                throw Fail(EmulatorCheck.WarpSyncDivergence, ins, w * 32 + l,
                    $"{what} member mask 0x{members:X8} does not include the executing lane {l}");
            uint missing = members & ~exec;
            if (missing != 0)
            {
                int other = Lane(missing);
                string state = (_exists[w] & (1u << other)) == 0 ? "does not exist (partial warp)"
                    : (_exited[w] & (1u << other)) != 0 ? "has exited"
                    : (_waiting[w] & (1u << other)) != 0 ? "waits at a barrier"
                    : $"is not executing this instruction (diverged, now at line {_code[_pc[w * 32 + other]].Line})";
                throw Fail(EmulatorCheck.WarpSyncDivergence, ins, w * 32 + l,
                    $"{what} member mask 0x{members:X8} names lane {other}, which {state}; executing lanes are 0x{exec:X8}");
            }
        }
    }

    /// <summary>
    /// Source lane per the PTX ISA: c packs the clamp value (bits 4:0) and segment mask (bits 12:8);
    /// a source outside the segment bounds leaves the lane's own value and clears the predicate.
    /// </summary>
    private void ExecuteShfl(in Instruction ins, int w, int rb, uint exec)
    {
        CheckMembers(in ins, w, rb, exec, "shfl.sync");
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32, b = rb + ins.B * 32, c = rb + ins.C * 32;
        var mode = (ShflMode)ins.Mode;
        var values = _tmp;
        for (uint m = exec; m != 0; m &= m - 1) { int l = Lane(m); values[l] = r[a + l]; }
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            int bval = (int)(r[b + l] & 0x1f);
            int cval = (int)(r[c + l] & 0x1f);
            int segmask = (int)((r[c + l] >> 8) & 0x1f);
            int maxLane = (l & segmask) | (cval & ~segmask);
            int minLane = l & segmask;
            int j;
            bool pval;
            switch (mode)
            {
                case ShflMode.Up: j = l - bval; pval = j >= maxLane; break;
                case ShflMode.Down: j = l + bval; pval = j <= maxLane; break;
                case ShflMode.Bfly: j = l ^ bval; pval = j <= maxLane; break;
                default: j = minLane | (bval & ~segmask); pval = j <= maxLane; break;
            }
            if (!pval) j = l;
            else if ((exec & (uint)r[rb + ins.E * 32 + l] & (1u << j)) == 0)
                throw Fail(EmulatorCheck.WarpSyncDivergence, ins, w * 32 + l,
                    $"shfl.sync reads lane {j}, which is not in the member mask 0x{(uint)r[rb + ins.E * 32 + l]:X8} (the source lane must participate; executing lanes 0x{exec:X8})");
            r[d + l] = values[j];
            if (ins.D2 >= 0) r[rb + ins.D2 * 32 + l] = pval ? 1UL : 0UL;
        }
    }

    /// <summary>
    /// bar.warp.sync: the named lanes must execute it together. A sync of the whole warp also orders
    /// the warp's shared-memory accesses before it against those after it (see <see cref="SharedRaceTracker"/>).
    /// </summary>
    private void ExecuteWarpSync(in Instruction ins, int w, int rb, uint exec)
    {
        CheckMembers(in ins, w, rb, exec, "bar.warp.sync");
        uint members = (uint)_r[rb + ins.E * 32 + Lane(exec)];
        if ((members & _exists[w]) == _exists[w]) _race.WarpSync(w);
    }

    private void ExecuteVote(in Instruction ins, int w, int rb, uint exec)
    {
        CheckMembers(in ins, w, rb, exec, "vote.sync");
        var r = _r;
        int d = rb + ins.D * 32, a = rb + ins.A * 32, maskReg = rb + ins.E * 32;
        uint ballot = 0;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            if ((r[a + l] != 0) ^ ins.NegateSource) ballot |= 1u << l;
        }
        var mode = (VoteMode)ins.Mode;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            uint members = (uint)r[maskReg + l];
            uint mine = ballot & members;
            r[d + l] = mode switch
            {
                VoteMode.Ballot => mine,
                VoteMode.All => mine == members ? 1UL : 0UL,
                VoteMode.Any => mine != 0 ? 1UL : 0UL,
                _ => mine == 0 || mine == members ? 1UL : 0UL,
            };
        }
    }
}
