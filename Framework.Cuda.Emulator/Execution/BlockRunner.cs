using System.Numerics;
using System.Runtime.CompilerServices;
using Framework.Cuda;
using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// Runs blocks of one launch, one at a time; each worker thread of the launch owns one runner and
/// reuses its buffers across blocks.
/// <para>
/// Scheduling inside a warp is "min-PC": the lanes whose program counter is smallest execute the next
/// instruction together, the others wait. Lanes that diverge at a branch therefore rejoin exactly when
/// the trailing group catches up with the leading one, which is the reconvergence a structured program
/// (and nvcc's block layout, where join points follow the branches that reach them) expects; it needs no
/// post-dominator analysis and cannot deadlock. Warp-synchronous instructions also wait for member
/// lanes that are still running elsewhere (the group is parked), which covers join points laid out
/// before a divergent path. A warp runs until all its live lanes wait at a barrier or have exited;
/// when every warp is there, the barrier is checked and released.
/// </para>
/// <para>
/// Registers live in one <see cref="ulong"/> array laid out [warp][register][lane], so an instruction
/// touches 32 consecutive slots per operand; a register of N bits holds its value zero-extended.
/// </para>
/// </summary>
internal sealed partial class BlockRunner
{
    private readonly LaunchContext _ctx;
    private readonly PtxKernel _k;
    private readonly Instruction[] _code;
    private readonly int[] _pool;
    private readonly int _nr, _warps, _threads;
    private readonly ulong[] _r;
    private readonly uint[] _written;
    private readonly bool[] _fixedReg;
    private readonly int[] _pc;
    private readonly uint[] _exists, _exited, _waiting;
    // Lanes that reached a shfl/vote/bar.warp.sync whose other members are still running elsewhere.
    private readonly uint[] _parked;
    // Set when a warp's only runnable lanes were parked ones: they then run (and fail the check) for real.
    private readonly bool[] _forced;
    private readonly byte[] _shared, _local;
    // Per shared byte: written by some thread of this block (reads of unwritten bytes fail the launch).
    private readonly bool[] _sharedWritten;
    private readonly GlobalRaceTracker? _globalRace;
    private ulong _linearBlock;
    // Barrier phase of the running block: bar.sync releases so far (orders warps for the global race check).
    private long _phase;
    // The first read of unwritten global or shared bytes in this barrier phase. It is reported when the
    // phase ends, so that a race the read is part of (another warp stores there later in the same
    // phase), or any other failure of the phase, is reported first: the race is the cause.
    private EmulatorCheckException? _pendingUninitialized;
    private readonly SharedRaceTracker _race = new();
    private readonly ulong[] _tmp = new ulong[32];
    private readonly int _ctaidX = -1, _ctaidY = -1, _ctaidZ = -1;
    private uint _bx, _by, _bz;
    private DeviceMemory.Allocation? _lastAlloc;
    private long _instructionLimit;

    public long Instructions, GlobalRead, GlobalWritten, SharedLoads, SharedStores, Atomics, GlobalAtomicBytes;

    public BlockRunner(LaunchContext ctx)
    {
        _ctx = ctx;
        _k = ctx.Kernel;
        _code = _k.Code;
        _pool = _k.OperandPool;
        _nr = _k.RegisterCount;
        _threads = ctx.ThreadsPerBlock;
        _warps = ctx.WarpsPerBlock;
        _r = new ulong[_warps * _nr * 32];
        _written = new uint[_warps * _nr];
        _fixedReg = new bool[_nr];
        _pc = new int[_warps * 32];
        _exists = new uint[_warps]; _exited = new uint[_warps]; _waiting = new uint[_warps];
        _parked = new uint[_warps]; _forced = new bool[_warps];
        _shared = new byte[ctx.SharedBytes];
        _sharedWritten = new bool[ctx.SharedBytes];
        _globalRace = ctx.Races;
        _race.Resize(ctx.SharedBytes, _warps);
        _local = new byte[_k.LocalBytes * _threads];
        for (int w = 0; w < _warps; w++)
        {
            int n = Math.Min(32, _threads - w * 32);
            _exists[w] = n == 32 ? uint.MaxValue : (1u << n) - 1;
        }
        foreach (var (reg, value) in _k.Constants) { _fixedReg[reg] = true; Fill(reg, _ => value); }
        var b = ctx.Block; var g = ctx.Grid;
        foreach (var (reg, kind) in _k.Specials)
        {
            _fixedReg[reg] = true;
            switch (kind)
            {
                case SpecialRegister.TidX: Fill(reg, t => (ulong)(t % b.X)); break;
                case SpecialRegister.TidY: Fill(reg, t => (ulong)(t / b.X % b.Y)); break;
                case SpecialRegister.TidZ: Fill(reg, t => (ulong)(t / (b.X * b.Y))); break;
                case SpecialRegister.NtidX: Fill(reg, _ => b.X); break;
                case SpecialRegister.NtidY: Fill(reg, _ => b.Y); break;
                case SpecialRegister.NtidZ: Fill(reg, _ => b.Z); break;
                case SpecialRegister.NctaidX: Fill(reg, _ => g.X); break;
                case SpecialRegister.NctaidY: Fill(reg, _ => g.Y); break;
                case SpecialRegister.NctaidZ: Fill(reg, _ => g.Z); break;
                case SpecialRegister.LaneId: Fill(reg, t => (ulong)(t % 32)); break;
                case SpecialRegister.WarpId: Fill(reg, t => (ulong)(t / 32)); break;
                case SpecialRegister.CtaidX: _ctaidX = reg; Fill(reg, _ => 0); break;
                case SpecialRegister.CtaidY: _ctaidY = reg; Fill(reg, _ => 0); break;
                case SpecialRegister.CtaidZ: _ctaidZ = reg; Fill(reg, _ => 0); break;
            }
        }
    }

    /// <summary>Sets a read-only register for every lane of every warp and marks it written.</summary>
    private void Fill(int reg, Func<uint, ulong> valueOfThread)
    {
        for (int w = 0; w < _warps; w++)
        {
            for (int l = 0; l < 32; l++) _r[(w * _nr + reg) * 32 + l] = valueOfThread((uint)(w * 32 + l));
            _written[w * _nr + reg] = uint.MaxValue;
        }
    }

    private void SetAll(int reg, ulong value)
    {
        if (reg < 0) return;
        for (int w = 0; w < _warps; w++) Array.Fill(_r, value, (w * _nr + reg) * 32, 32);
    }

    /// <summary>Runs block number <paramref name="linearBlock"/> (x fastest) to completion.</summary>
    public void Run(ulong linearBlock)
    {
        Begin(linearBlock);
        while (!Step()) { }
    }

    /// <summary>Makes block number <paramref name="linearBlock"/> (x fastest) this runner's block, at its first instruction.</summary>
    public void Begin(ulong linearBlock)
    {
        var g = _ctx.Grid;
        _linearBlock = linearBlock;
        _phase = 0;
        _pendingUninitialized = null;
        _bx = (uint)(linearBlock % g.X);
        _by = (uint)(linearBlock / g.X % g.Y);
        _bz = (uint)(linearBlock / ((ulong)g.X * g.Y));
        SetAll(_ctaidX, _bx); SetAll(_ctaidY, _by); SetAll(_ctaidZ, _bz);
        for (int w = 0; w < _warps; w++)
        {
            for (int r = 0; r < _nr; r++) if (!_fixedReg[r]) _written[w * _nr + r] = 0;
            _exited[w] = 0; _waiting[w] = 0; _parked[w] = 0;
        }
        Array.Clear(_pc);
        Array.Fill(_shared, _ctx.PoisonByte);
        Array.Clear(_sharedWritten);
        Array.Fill(_local, _ctx.PoisonByte);
        _race.Barrier();
        _instructionLimit = Instructions + _ctx.MaxInstructionsPerBlock;
    }

    /// <summary>
    /// Runs every warp of the block until it waits at a barrier or has exited, then releases the
    /// barrier: one barrier phase. Returns true when the block has finished.
    /// </summary>
    public bool Step()
    {
        bool anyWaiting = false;
        for (int w = 0; w < _warps; w++)
        {
            RunWarp(w);
            anyWaiting |= _waiting[w] != 0;
        }
        if (_pendingUninitialized is { } uninitialized) throw uninitialized;
        if (!anyWaiting) return true;
        ReleaseBarrier();
        return false;
    }

    /// <summary>
    /// Every live thread now waits at a barrier. They must all wait at the same bar.sync and no thread
    /// may have exited (bar.sync is .aligned: the whole block must execute it).
    /// </summary>
    private void ReleaseBarrier()
    {
        int first = -1;
        for (int w = 0; w < _warps && first < 0; w++)
            if (_waiting[w] != 0) first = w * 32 + BitOperations.TrailingZeroCount(_waiting[w]);
        int barPc = _pc[first];
        ref readonly var bar = ref _code[barPc];
        for (int w = 0; w < _warps; w++)
        {
            uint gone = _exists[w] & _exited[w];
            if (gone != 0)
            {
                int t = w * 32 + BitOperations.TrailingZeroCount(gone);
                throw Fail(EmulatorCheck.BarrierDivergence, bar, first,
                    $"thread {ThreadOf(first)} waits at bar.sync (line {bar.Line}) but thread {ThreadOf(t)} already exited (line {_code[_pc[t]].Line}); every thread of the block must reach the same barrier");
            }
            for (uint m = _waiting[w]; m != 0; m &= m - 1)
            {
                int t = w * 32 + BitOperations.TrailingZeroCount(m);
                if (_pc[t] != barPc)
                    throw Fail(EmulatorCheck.BarrierDivergence, bar, first,
                        $"thread {ThreadOf(first)} waits at the barrier on line {bar.Line} while thread {ThreadOf(t)} waits at the barrier on line {_code[_pc[t]].Line}");
            }
        }
        for (int w = 0; w < _warps; w++)
        {
            for (uint m = _waiting[w]; m != 0; m &= m - 1) _pc[w * 32 + BitOperations.TrailingZeroCount(m)]++;
            _waiting[w] = 0;
        }
        _race.Barrier();
        _phase++;
    }

    /// <summary>
    /// Picks the lanes with the smallest PC among the runnable (live, not parked) lanes; parked lanes
    /// at that PC join them, parked lanes further on bound <paramref name="nextPc"/> so the group merges
    /// with them on arrival. If only parked lanes are left, nothing else can arrive: they are released
    /// and run as they are (<see cref="_forced"/>).
    /// </summary>
    private void Select(int w, uint live, out int pc, out uint group, out int nextPc)
    {
        int lb = w * 32;
        uint parked = _parked[w] & live;
        uint runnable = live & ~parked;
        _forced[w] = runnable == 0;
        if (runnable == 0) { runnable = parked; parked = 0; _parked[w] = 0; }
        pc = int.MaxValue; group = 0; nextPc = int.MaxValue;
        for (uint m = runnable; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            int p = _pc[lb + l];
            if (p < pc) { if (pc != int.MaxValue) nextPc = pc; pc = p; group = 1u << l; }
            else if (p == pc) group |= 1u << l;
            else if (p < nextPc) nextPc = p;
        }
        for (uint m = parked; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            int p = _pc[lb + l];
            if (p == pc) { group |= 1u << l; _parked[w] &= ~(1u << l); }
            else if (p > pc && p < nextPc) nextPc = p;
        }
    }

    /// <summary>
    /// Whether a warp-synchronous instruction must wait: some lane named in a member mask is not in
    /// the group but still running (it may arrive here later, as .sync semantics let it).
    /// </summary>
    private bool MustWaitForMembers(in Instruction ins, int w, int rb, uint exec, uint group)
    {
        if (_forced[w]) return false;
        uint members = 0;
        int maskReg = rb + ins.E * 32;
        for (uint m = exec; m != 0; m &= m - 1) members |= (uint)_r[maskReg + BitOperations.TrailingZeroCount(m)];
        uint running = _exists[w] & ~_exited[w] & ~_waiting[w] & ~group;
        return (members & running) != 0 && (running & ~_parked[w]) != 0;
    }

    private void StorePc(int w, uint lanes, int pc)
    {
        int lb = w * 32;
        for (uint m = lanes; m != 0; m &= m - 1) _pc[lb + BitOperations.TrailingZeroCount(m)] = pc;
    }

    /// <summary>Runs warp <paramref name="w"/> until its live lanes have all exited or wait at a barrier.</summary>
    private void RunWarp(int w)
    {
        uint live = _exists[w] & ~_exited[w] & ~_waiting[w];
        if (live == 0) return;
        int wr = w * _nr, rb = wr * 32;
        var code = _code;
        var pool = _pool;
        var written = _written;
        var r = _r;
        Select(w, live, out int pc, out uint group, out int nextPc);
        while (true)
        {
            ref readonly Instruction ins = ref code[pc];
            uint exec = group;
            if (ins.Guard >= 0)
            {
                if ((written[wr + ins.Guard] & group) != group) throw Uninitialized(ins, w, ins.Guard, group);
                int g = rb + ins.Guard * 32;
                uint t = 0;
                for (uint m = group; m != 0; m &= m - 1)
                {
                    int l = BitOperations.TrailingZeroCount(m);
                    if (r[g + l] != 0) t |= 1u << l;
                }
                exec = ins.GuardNegated ? group & ~t : t;
            }
            Instructions += BitOperations.PopCount(group);
            if (Instructions > _instructionLimit) throw InstructionLimit(ins, w, group);
            for (int s = ins.SrcStart, e = s + ins.SrcCount; s < e; s++)
            {
                int reg = pool[s];
                if ((written[wr + reg] & exec) != exec) throw Uninitialized(ins, w, reg, exec);
            }
            switch (ins.Op)
            {
                case Opcode.Bra:
                {
                    uint fall = group & ~exec;
                    if (ins.Mode == 1 && exec != 0 && fall != 0)
                        throw Fail(EmulatorCheck.DivergentUniformBranch, ins, w * 32 + Lane(fall),
                            $"bra.uni promises a warp-uniform branch, but lanes 0x{exec:X8} take it and lanes 0x{fall:X8} do not");
                    if (exec == 0) { pc++; }
                    else if (fall == 0)
                    {
                        pc = (int)ins.Offset;
                        // A jump (possibly backwards) may land where parked lanes wait: let Select merge them.
                        if (_parked[w] != 0) nextPc = int.MinValue;
                    }
                    else
                    {
                        StorePc(w, exec, (int)ins.Offset);
                        StorePc(w, fall, pc + 1);
                        Select(w, live, out pc, out group, out nextPc);
                        continue;
                    }
                    if (pc >= nextPc) { StorePc(w, group, pc); Select(w, live, out pc, out group, out nextPc); }
                    continue;
                }
                case Opcode.Exit:
                case Opcode.Bar:
                {
                    if (ins.Op == Opcode.Exit) _exited[w] |= exec;
                    else
                    {
                        CheckBarrierCount(ins, w, exec, rb);
                        _waiting[w] |= exec;
                    }
                    StorePc(w, exec, pc);
                    group &= ~exec;
                    live &= ~exec;
                    if (group == 0)
                    {
                        if (live == 0) return;
                        Select(w, live, out pc, out group, out nextPc);
                        continue;
                    }
                    pc++;
                    if (pc >= nextPc) { StorePc(w, group, pc); Select(w, live, out pc, out group, out nextPc); }
                    continue;
                }
                case Opcode.Shfl or Opcode.Vote or Opcode.WarpSync when exec != 0 && MustWaitForMembers(in ins, w, rb, exec, group):
                    // Park the group here (the instruction re-executes, and is counted, once all arrive).
                    Instructions -= BitOperations.PopCount(group);
                    _parked[w] |= group;
                    StorePc(w, group, pc);
                    Select(w, live, out pc, out group, out nextPc);
                    continue;
                default:
                    if (exec != 0) Execute(in ins, w, rb, exec);
                    break;
            }
            for (int s = ins.DstStart, e = s + ins.DstCount; s < e; s++) written[wr + pool[s]] |= exec;
            pc++;
            if (pc >= nextPc) { StorePc(w, group, pc); Select(w, live, out pc, out group, out nextPc); }
        }
    }

    /// <summary>bar.sync a, b: the emulator's barrier is block-wide, so b must name the whole block.</summary>
    private void CheckBarrierCount(in Instruction ins, int w, uint exec, int rb)
    {
        if (ins.B < 0) return;
        int lane = BitOperations.TrailingZeroCount(exec);
        ulong count = _r[rb + ins.B * 32 + lane];
        ulong whole = (ulong)_warps * 32;
        if (count != whole)
            throw Fail(EmulatorCheck.Unsupported, ins, w * 32 + lane,
                $"bar.sync with thread count {count}: the emulator implements only block-wide barriers (count {whole} for this block)");
    }

    private Dim3 ThreadOf(int linear)
    {
        var b = _ctx.Block;
        return new Dim3((uint)(linear % b.X), (uint)(linear / b.X % b.Y), (uint)(linear / (b.X * b.Y)));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EmulatorCheckException Fail(EmulatorCheck check, in Instruction ins, int thread, string detail) =>
        new(check, _k.Name, ins.Line, new Dim3(_bx, _by, _bz), ThreadOf(thread), detail);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EmulatorCheckException InstructionLimit(in Instruction ins, int w, uint group) =>
        Fail(EmulatorCheck.InstructionLimitExceeded, ins, w * 32 + BitOperations.TrailingZeroCount(group),
            $"the block executed more than {_ctx.MaxInstructionsPerBlock} thread-instructions; an endless loop or a spin-wait on another block or warp (which the emulator cannot run concurrently)?");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EmulatorCheckException Uninitialized(in Instruction ins, int w, int reg, uint exec)
    {
        int lane = BitOperations.TrailingZeroCount(exec & ~_written[w * _nr + reg]);
        return Fail(EmulatorCheck.UninitializedRegister, ins, w * 32 + lane,
            $"register {_k.RegisterNames[reg]} is read before this thread wrote it");
    }
}
