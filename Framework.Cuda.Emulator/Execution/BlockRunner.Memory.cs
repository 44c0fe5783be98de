using System.Runtime.CompilerServices;
using Framework.Cuda.Emulator.Ptx;

namespace Framework.Cuda.Emulator.Execution;

/// <summary>
/// ld, st, atom and red with the bounds, alignment and shared-race checks. Generic addresses are
/// resolved per lane: the shared and local windows first, everything else is global.
/// </summary>
internal sealed partial class BlockRunner
{
    private void ExecuteMemory(in Instruction ins, int w, int rb, uint exec)
    {
        switch (ins.Op)
        {
            case Opcode.LdParam: LoadParam(in ins, w, rb, exec); return;
            case Opcode.Ld: Load(in ins, w, rb, exec); return;
            case Opcode.St: Store(in ins, w, rb, exec); return;
            default: AtomicOp(in ins, w, rb, exec); return;
        }
    }

    private int VectorReg(in Instruction ins, int i) => i switch { 0 => ins.V0, 1 => ins.V1, 2 => ins.V2, _ => ins.V3 };

    /// <summary>A loaded element, extended into a register of <paramref name="regBytes"/> bytes.</summary>
    private static ulong Extend(ulong raw, PtxType type, int regBytes)
    {
        int size = type.Size();
        if (type.IsSigned() && regBytes > size) return (ulong)SignExtend(raw, size * 8) & MaskOf(regBytes * 8);
        return raw;
    }

    private static ulong ReadElement(ref byte p, int size) => size switch
    {
        1 => p,
        2 => Unsafe.ReadUnaligned<ushort>(ref p),
        4 => Unsafe.ReadUnaligned<uint>(ref p),
        _ => Unsafe.ReadUnaligned<ulong>(ref p),
    };

    private static void WriteElement(ref byte p, int size, ulong v)
    {
        switch (size)
        {
            case 1: p = (byte)v; break;
            case 2: Unsafe.WriteUnaligned(ref p, (ushort)v); break;
            case 4: Unsafe.WriteUnaligned(ref p, (uint)v); break;
            default: Unsafe.WriteUnaligned(ref p, v); break;
        }
    }

    private void LoadParam(in Instruction ins, int w, int rb, uint exec)
    {
        int size = ins.Type.Size();
        var p = _ctx.Parameters;
        if (ins.Offset < 0 || ins.Offset + size * ins.Vec > p.Length)
            throw Fail(EmulatorCheck.ParameterOutOfBounds, ins, w * 32 + Lane(exec),
                $"ld.param of {size * ins.Vec} bytes at offset {ins.Offset} but the kernel's parameters occupy {p.Length} bytes");
        for (int i = 0; i < ins.Vec; i++)
        {
            ulong v = Extend(ReadElement(ref p[(int)ins.Offset + i * size], size), ins.Type, ins.Mode);
            int dst = rb + VectorReg(ins, i) * 32;
            for (uint m = exec; m != 0; m &= m - 1) _r[dst + Lane(m)] = v;
        }
    }

    private ulong AddressOf(in Instruction ins, int rb, int lane) =>
        (ins.AddrReg >= 0 ? _r[rb + ins.AddrReg * 32 + lane] : 0) + (ulong)ins.Offset;

    private void Load(in Instruction ins, int w, int rb, uint exec)
    {
        int size = ins.Type.Size(), total = size * ins.Vec;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            ref byte p = ref Resolve(in ins, ins.Space, AddressOf(in ins, rb, l), total, w * 32 + l, write: false);
            for (int i = 0; i < ins.Vec; i++)
                _r[rb + VectorReg(ins, i) * 32 + l] = Extend(ReadElement(ref Unsafe.Add(ref p, i * size), size), ins.Type, ins.Mode);
        }
    }

    private void Store(in Instruction ins, int w, int rb, uint exec)
    {
        int size = ins.Type.Size(), total = size * ins.Vec;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            ref byte p = ref Resolve(in ins, ins.Space, AddressOf(in ins, rb, l), total, w * 32 + l, write: true);
            for (int i = 0; i < ins.Vec; i++)
                WriteElement(ref Unsafe.Add(ref p, i * size), size, _r[rb + VectorReg(ins, i) * 32 + l]);
        }
    }

    /// <summary>
    /// The host location of a <paramref name="size"/>-byte access by thread <paramref name="thread"/>,
    /// after the alignment, bounds and race checks, with the traffic counted.
    /// </summary>
    private ref byte Resolve(in Instruction ins, StateSpace space, ulong address, int size, int thread, bool write, bool atomic = false)
    {
        string what = atomic ? "atomic" : write ? "store" : "load";
        if (address % (ulong)size != 0)
            throw Fail(EmulatorCheck.MisalignedAddress, ins, thread,
                $"{what} of {size} bytes at address 0x{address:X}, which is not a multiple of {size}");
        if (space == StateSpace.Generic)
        {
            if (address - LaunchContext.SharedWindow < LaunchContext.WindowSize) { space = StateSpace.Shared; address -= LaunchContext.SharedWindow; }
            else if (address - LaunchContext.LocalWindow < LaunchContext.WindowSize) { space = StateSpace.Local; address -= LaunchContext.LocalWindow; }
            else space = StateSpace.Global;
        }
        switch (space)
        {
            case StateSpace.Global:
            {
                var alloc = _lastAlloc;
                // One unsigned comparison covers "below the base" (wraps to huge) and "past the end".
                if (alloc is null || alloc.Data.Length < size || address - alloc.Base > (ulong)(alloc.Data.Length - size))
                {
                    alloc = _ctx.Memory.Find(address, (ulong)size)
                        ?? throw Fail(EmulatorCheck.GlobalOutOfBounds, ins, thread,
                            $"global {what} of {size} bytes at 0x{address:X} is outside every allocation{_ctx.Memory.Describe(address)}");
                    _lastAlloc = alloc;
                }
                if (atomic) GlobalAtomicBytes += size;
                else if (write) GlobalWritten += size;
                else GlobalRead += size;
                int offset = (int)(address - alloc.Base);
                if (_globalRace is not null) CheckGlobalRace(in ins, alloc, offset, size, thread, write, atomic);
                if (!write || atomic)
                {
                    var written = alloc.Written;
                    for (int i = offset; i < offset + size; i++)
                        if (!written[i]) { UninitializedGlobal(in ins, alloc, i, offset, size, thread, what); break; }
                }
                if (write) alloc.MarkWritten(offset, size);
                return ref alloc.Data[offset];
            }
            case StateSpace.Shared:
            {
                if (_shared.Length < size || address > (ulong)(_shared.Length - size))
                    throw Fail(EmulatorCheck.SharedOutOfBounds, ins, thread,
                        $"shared {what} of {size} bytes at offset {address} but the block has {_shared.Length} bytes of shared memory");
                int offset = (int)address;
                int other = atomic ? _race.Atomic(offset, size, thread)
                    : write ? _race.Write(offset, size, thread) : _race.Read(offset, size, thread);
                if (other != SharedRaceTracker.None)
                    throw Fail(EmulatorCheck.SharedRace, ins, thread,
                        $"shared {what} of {size} bytes at offset {offset} conflicts with {(other == SharedRaceTracker.Several ? "accesses by several other threads" : $"an access by thread {ThreadOf(other)}")} since the last barrier (no bar.sync between them, and at least one side writes)");
                if (!atomic) { if (write) SharedStores++; else SharedLoads++; }
                if (!write || atomic)
                    for (int i = offset; i < offset + size; i++)
                        if (!_sharedWritten[i])
                        {
                            _pendingUninitialized ??= Fail(EmulatorCheck.UninitializedSharedRead, ins, thread,
                                $"shared {what} of {size} bytes at offset {offset} reads byte {i}, which no thread of this block has written (shared memory starts undefined)");
                            break;
                        }
                if (write) _sharedWritten.AsSpan(offset, size).Fill(true);
                return ref _shared[offset];
            }
            case StateSpace.Local:
            {
                int bytes = _k.LocalBytes;
                if (bytes < size || address > (ulong)(bytes - size))
                    throw Fail(EmulatorCheck.LocalOutOfBounds, ins, thread,
                        $"local {what} of {size} bytes at offset {address} but the thread has {bytes} bytes of .local variables");
                return ref _local[thread * bytes + (int)address];
            }
            default:
                throw Fail(EmulatorCheck.Unsupported, ins, thread, $"{what} in state space {space} is not supported");
        }
    }

    private void CheckGlobalRace(in Instruction ins, DeviceMemory.Allocation alloc, int offset, int size, int thread, bool write, bool atomic)
    {
        var races = _globalRace!;
        ulong me = GlobalRaceTracker.Tag(_linearBlock, thread >> 5, _phase);
        string mine = atomic ? "atomic" : write ? "store" : "load", theirs = "store";
        ulong other = atomic ? races.AtomicAccess(alloc, offset, size, me)
            : write ? races.Write(alloc, offset, size, me, out theirs) : races.Read(alloc, offset, size, me);
        if (other != 0)
            throw Fail(EmulatorCheck.GlobalRace, ins, thread,
                $"global {mine} of {size} bytes at 0x{alloc.Base + (ulong)offset:X} (offset {offset} of the allocation at 0x{alloc.Base:X}) conflicts with a {theirs} by {GlobalRaceTracker.Describe(other, _ctx.Grid)} in this launch; "
                + "nothing orders them (different blocks, or different warps with no bar.sync between) and at least one is a plain store");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void UninitializedGlobal(in Instruction ins, DeviceMemory.Allocation alloc, int @byte, int offset, int size, int thread, string what) =>
        _pendingUninitialized ??= Fail(EmulatorCheck.UninitializedGlobalRead, ins, thread,
            $"global {what} of {size} bytes at 0x{alloc.Base + (ulong)offset:X} reads byte {@byte} of the {alloc.Data.Length}-byte allocation at 0x{alloc.Base:X}, "
            + "which nothing has written since cuMemAlloc (no copy to the device, memset, kernel store, atomic or BLAS result)");

    private void AtomicOp(in Instruction ins, int w, int rb, uint exec)
    {
        int size = ins.Type.Size();
        var op = (AtomOp)ins.Mode;
        for (uint m = exec; m != 0; m &= m - 1)
        {
            int l = Lane(m);
            ref byte p = ref Resolve(in ins, ins.Space, AddressOf(in ins, rb, l), size, w * 32 + l, write: true, atomic: true);
            ulong b = _r[rb + ins.B * 32 + l];
            ulong c = ins.C >= 0 ? _r[rb + ins.C * 32 + l] : 0;
            ulong old;
            if (size == 4)
            {
                ref int loc = ref Unsafe.As<byte, int>(ref p);
                int seen = Volatile.Read(ref loc);
                while (true)
                {
                    int desired = (int)(uint)Apply(op, ins.Type, (uint)seen, b, c);
                    int prev = Interlocked.CompareExchange(ref loc, desired, seen);
                    if (prev == seen) break;
                    seen = prev;
                }
                old = (uint)seen;
            }
            else
            {
                ref long loc = ref Unsafe.As<byte, long>(ref p);
                long seen = Volatile.Read(ref loc);
                while (true)
                {
                    long desired = (long)Apply(op, ins.Type, (ulong)seen, b, c);
                    long prev = Interlocked.CompareExchange(ref loc, desired, seen);
                    if (prev == seen) break;
                    seen = prev;
                }
                old = (ulong)seen;
            }
            Atomics++;
            if (ins.D >= 0) _r[rb + ins.D * 32 + l] = old;
        }
    }

    /// <summary>The new memory value of an atomic operation on <paramref name="old"/>.</summary>
    private static ulong Apply(AtomOp op, PtxType type, ulong old, ulong b, ulong c)
    {
        int bits = type.Size() * 8;
        ulong mask = MaskOf(bits);
        switch (op)
        {
            case AtomOp.Add:
                if (type == PtxType.F32) return U(F(old) + F(b));
                if (type == PtxType.F64) return U(D(old) + D(b));
                return (old + b) & mask;
            case AtomOp.Min:
                return type.IsSigned() ? (SignExtend(old, bits) <= SignExtend(b, bits) ? old : b) : Math.Min(old, b);
            case AtomOp.Max:
                return type.IsSigned() ? (SignExtend(old, bits) >= SignExtend(b, bits) ? old : b) : Math.Max(old, b);
            case AtomOp.Exch: return b;
            case AtomOp.Cas: return old == b ? c : old;
            case AtomOp.Inc: return old >= b ? 0 : old + 1;
            case AtomOp.Dec: return old == 0 || old > b ? b : old - 1;
            case AtomOp.And: return old & b;
            case AtomOp.Or: return old | b;
            default: return old ^ b;
        }
    }
}
