namespace Framework.Cuda.Emulator.Ptx;

/// <summary>Decoders for control flow and the warp- and block-level synchronizing instructions.</summary>
internal sealed partial class PtxParser
{
    private Instruction ParseBranch(Token at, Mods m)
    {
        bool uni = m.Take("uni");
        var ins = NewInstruction(Opcode.Bra, at);
        ins.Mode = uni ? (byte)1 : (byte)0;
        var label = ExpectWord("a branch target label");
        _branchFixups.Add((_code.Count, label));
        return ins;
    }

    private Instruction ParseExit(Token at, Mods m)
    {
        m.Take("uni");
        return NewInstruction(Opcode.Exit, at);
    }

    private void RequireSyncVersion(Token at)
    {
        if (!VersionAtLeast(6, 0)) throw Error(at, $"{_opText} needs .version 6.0 or higher, module declares {_versionMajor}.{_versionMinor}");
    }

    /// <summary><c>bar.sync a{, b}</c> and <c>barrier.sync{.aligned} a{, b}</c>.</summary>
    private Instruction ParseBarrier(Token at, Mods m)
    {
        bool barrier = _opText.StartsWith("barrier", StringComparison.Ordinal);
        if (!barrier && m.Take("warp"))
        {
            if (!m.Take("sync")) throw Error(at, $"{_opText} is not supported; the emulator implements bar.warp.sync");
            RequireSyncVersion(at);
            var sync = NewInstruction(Opcode.WarpSync, at);
            sync.E = Src(PtxType.U32);
            return sync;
        }
        m.Take("cta");
        if (!m.Take("sync"))
            throw Error(at, $"{_opText} is not supported; the emulator implements bar.sync / barrier.sync");
        if (barrier) { RequireSyncVersion(at); m.Take("aligned"); }
        var ins = NewInstruction(Opcode.Bar, at);
        ins.A = Src(PtxType.U32);
        if (Peek.Is(",")) { Next(); ins.B = Src(PtxType.U32); }
        return ins;
    }

    /// <summary><c>shfl.sync.mode.b32 d[|p], a, b, c, membermask</c>.</summary>
    private Instruction ParseShfl(Token at, Mods m)
    {
        if (!m.Take("sync")) throw Error(at, "shfl without .sync is not supported (deprecated since PTX 6.0); use shfl.sync");
        RequireSyncVersion(at);
        var modeName = m.TakeOne("up", "down", "bfly", "idx") ?? throw Error(at, $"{_opText} needs .up, .down, .bfly or .idx");
        var type = m.TakeType();
        RequireType(at, type, type == PtxType.B32, ".b32");
        var ins = NewInstruction(Opcode.Shfl, at);
        ins.Type = type; ins.Mode = (byte)Enum.Parse<ShflMode>(modeName, ignoreCase: true);
        ins.D = Dest(type);
        if (Peek.Is("|")) { Next(); ins.D2 = Dest(PtxType.Pred); }
        Comma(); ins.A = Src(type);
        Comma(); ins.B = Src(PtxType.U32);
        Comma(); ins.C = Src(PtxType.U32);
        Comma(); ins.E = Src(PtxType.U32);
        return ins;
    }

    /// <summary><c>vote.sync.{all,any,uni}.pred d, {!}a, mask</c> and <c>vote.sync.ballot.b32 d, {!}a, mask</c>.</summary>
    private Instruction ParseVote(Token at, Mods m)
    {
        if (!m.Take("sync")) throw Error(at, "vote without .sync is not supported (deprecated since PTX 6.0); use vote.sync");
        RequireSyncVersion(at);
        var modeName = m.TakeOne("all", "any", "uni", "ballot") ?? throw Error(at, $"{_opText} needs .all, .any, .uni or .ballot");
        var mode = Enum.Parse<VoteMode>(modeName, ignoreCase: true);
        var type = m.TakeType();
        var want = mode == VoteMode.Ballot ? PtxType.B32 : PtxType.Pred;
        RequireType(at, type, type == want, want.Name());
        var ins = NewInstruction(Opcode.Vote, at);
        ins.Type = type; ins.Mode = (byte)mode;
        ins.D = Dest(type);
        Comma(); ins.A = PredSrc(out bool negated); ins.NegateSource = negated;
        Comma(); ins.E = Src(PtxType.U32);
        return ins;
    }

    private Instruction ParseFence(string name, Token at, Mods m)
    {
        if (name == "membar") { if (m.TakeOne("cta", "gl", "sys") is null) throw Error(at, "membar needs .cta, .gl or .sys"); }
        else
        {
            RequireTarget(at, 70, "fence");
            m.TakeOne("sc", "acq_rel");
            if (m.TakeOne("cta", "gpu", "sys") is null) throw Error(at, "fence needs a scope: .cta, .gpu or .sys");
        }
        return NewInstruction(Opcode.Membar, at);
    }
}
