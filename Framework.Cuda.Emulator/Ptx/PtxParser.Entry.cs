namespace Framework.Cuda.Emulator.Ptx;

/// <summary>Kernel-level grammar: parameters, performance directives, the body and its declarations.</summary>
internal sealed partial class PtxParser
{
    private enum RegKind : byte { Declared, Constant, Special }

    // Per-kernel state, reset by ParseEntry.
    private Dictionary<string, int> _regByName = new(StringComparer.Ordinal);
    private List<PtxType> _regTypes = new();
    private List<string> _regNames = new();
    private List<RegKind> _regKinds = new();
    private Dictionary<(ulong, PtxType), int> _constRegs = new();
    private List<(int, ulong)> _constants = new();
    private Dictionary<SpecialRegister, int> _specialRegs = new();
    private Dictionary<string, long> _sharedVars = new(StringComparer.Ordinal);
    private int _sharedBytes;
    private HashSet<int> _externConstRegs = new();

    /// <summary>
    /// Placeholder offset of .extern .shared arrays until the static layout is known at the end of the
    /// body; addresses and constants derived from it are patched then.
    /// </summary>
    private const long ExternBase = 1L << 40;
    private Dictionary<string, int> _localVars = new(StringComparer.Ordinal);
    private Dictionary<string, PtxParam> _params = new(StringComparer.Ordinal);
    private Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private List<(int Index, Token Label)> _branchFixups = new();
    private List<Instruction> _code = new();
    private List<int> _pool = new();
    private readonly List<int> _srcs = new(), _dsts = new();
    private string _kernelName = "";

    private PtxKernel ParseEntry()
    {
        var nameTok = ExpectWord("a kernel name");
        _kernelName = nameTok.Text;
        _regByName = new(StringComparer.Ordinal); _regTypes = new(); _regNames = new(); _regKinds = new();
        _constRegs = new(); _constants = new(); _specialRegs = new();
        _sharedVars = new(StringComparer.Ordinal); _externConstRegs = new(); _localVars = new(StringComparer.Ordinal);
        _params = new(StringComparer.Ordinal); _labels = new(StringComparer.Ordinal);
        _branchFixups = new(); _code = new(); _pool = new();

        int paramBytes = ParseParams();
        Dim3? maxNtid = null, reqNtid = null;
        while (Peek.Kind == TokenKind.Word && Peek.Text.StartsWith('.'))
        {
            var d = Next();
            switch (d.Text)
            {
                case ".maxntid": maxNtid = ParseDims(d); break;
                case ".reqntid": reqNtid = ParseDims(d); break;
                case ".minnctapersm" or ".maxnreg" or ".maxnctapersm": ExpectInt($"a value for {d.Text}"); break;
                default: throw Error(d, $"unsupported kernel directive {d.Text}");
            }
        }

        // Module-scope static .shared variables get an offset in this kernel only when it uses them
        // (see IsSharedVariable), as ptxas allocates them: nvcc puts every kernel's static shared
        // arrays at module scope, and laying out all of them in every kernel would overstate its size.
        _sharedBytes = 0;
        var externShared = _moduleShared.Where(v => v.Extern).Select(v => (v.Name, v.Align)).ToList();
        foreach (var (name, _) in externShared) _sharedVars[name] = ExternBase;
        int localBytes = 0;

        var open = Expect("{", $"to open the body of kernel '{_kernelName}'");
        int depth = 1;
        Token close = open;
        while (depth > 0)
        {
            var t = Peek;
            if (t.Kind == TokenKind.End) throw Error(t, $"kernel '{_kernelName}' body is not closed with '}}'");
            if (t.Is("{")) { Next(); depth++; continue; }
            if (t.Is("}")) { close = Next(); depth--; continue; }
            if (t.Is(".reg")) { Next(); ParseRegDecl(); continue; }
            if (t.Is(".pragma")) { Next(); ParsePragma(); continue; }
            if (t.Is(".shared") || (t.Is(".extern") && PeekAt(1).Is(".shared")))
            {
                bool isExtern = Next().Is(".extern");
                var space = isExtern ? Next() : t;
                var (name, size, align) = ParseVariable(space, isExtern);
                if (IsSharedVariable(name) || externShared.Any(e => e.Name == name)) throw Error(t, $"shared variable '{name}' is declared twice");
                if (isExtern) { externShared.Add((name, align)); _sharedVars[name] = ExternBase; continue; }
                _sharedBytes = AlignUp(_sharedBytes, align);
                _sharedVars[name] = _sharedBytes;
                _sharedBytes += size;
                continue;
            }
            if (t.Is(".local"))
            {
                Next();
                var (name, size, align) = ParseVariable(t, false);
                if (!_localVars.TryAdd(name, AlignUp(localBytes, align))) throw Error(t, $"local variable '{name}' is declared twice");
                localBytes = AlignUp(localBytes, align) + size;
                continue;
            }
            if (t.Kind == TokenKind.Word && PeekAt(1).Is(":") && !t.Text.StartsWith('.') && !t.Text.StartsWith('%'))
            {
                Next(); Next();
                if (!_labels.TryAdd(t.Text, _code.Count)) throw Error(t, $"label '{t.Text}' is defined twice");
                continue;
            }
            ParseStatement();
        }

        // Dynamic shared arrays all alias the first byte after static shared, at their strictest alignment.
        int dynAlign = externShared.Count == 0 ? 16 : Math.Max(16, externShared.Max(e => e.Align));
        int dynOffset = AlignUp(_sharedBytes, dynAlign);
        for (int i = 0; i < _code.Count; i++)
        {
            var ins = _code[i];
            if (ins.Op is not (Opcode.Bra or Opcode.Exit) && ins.Space == StateSpace.Shared && ins.AddrReg < 0 && ins.Offset >= ExternBase / 2)
                _code[i] = ins with { Offset = ins.Offset - ExternBase + dynOffset };
        }
        for (int i = 0; i < _constants.Count; i++)
            if (_externConstRegs.Contains(_constants[i].Item1))
                _constants[i] = (_constants[i].Item1, _constants[i].Item2 - (ulong)ExternBase + (ulong)dynOffset);

        // Falling off the end of the body is an implicit ret.
        var exit = NewInstruction(Opcode.Exit, close);
        Emit(ref exit);
        foreach (var (index, label) in _branchFixups)
        {
            if (!_labels.TryGetValue(label.Text, out int target)) throw Error(label, $"branch target '{label.Text}' is not a label in kernel '{_kernelName}'");
            _code[index] = _code[index] with { Offset = target };
        }
        return new PtxKernel
        {
            Name = _kernelName, File = _file, Code = _code.ToArray(), OperandPool = _pool.ToArray(),
            RegisterCount = _regTypes.Count, RegisterNames = _regNames.ToArray(),
            Constants = _constants.ToArray(),
            Specials = _specialRegs.Select(kv => (kv.Value, kv.Key)).ToArray(),
            Params = _params.Values.OrderBy(p => p.Offset).ToArray(), ParamBytes = paramBytes,
            StaticSharedBytes = _sharedBytes, DynamicSharedOffset = dynOffset, LocalBytes = localBytes,
            MaxNtid = maxNtid, ReqNtid = reqNtid,
        };
    }

    /// <summary>
    /// Whether <paramref name="name"/> is a shared variable of this kernel; a module-scope static one is
    /// given its offset on first use.
    /// </summary>
    private bool IsSharedVariable(string name) => SharedOffset(name) is not null;

    private long? SharedOffset(string name)
    {
        if (_sharedVars.TryGetValue(name, out long offset)) return offset;
        foreach (var (varName, size, align, isExtern) in _moduleShared)
        {
            if (isExtern || varName != name) continue;
            _sharedBytes = AlignUp(_sharedBytes, align);
            _sharedVars[name] = _sharedBytes;
            _sharedBytes += size;
            return _sharedVars[name];
        }
        return null;
    }

    private Dim3 ParseDims(Token directive)
    {
        var dims = new List<int> { ExpectInt($"a size for {directive.Text}") };
        while (Peek.Is(",")) { Next(); dims.Add(ExpectInt($"a size for {directive.Text}")); }
        if (dims.Count > 3) throw Error(directive, $"{directive.Text} takes at most 3 sizes, found {dims.Count}");
        return new Dim3((uint)dims[0], dims.Count > 1 ? (uint)dims[1] : 1, dims.Count > 2 ? (uint)dims[2] : 1);
    }

    /// <summary>The parameter list; each parameter sits at its natural (or .align) boundary.</summary>
    private int ParseParams()
    {
        Expect("(", $"after kernel name '{_kernelName}'");
        int offset = 0;
        if (Peek.Is(")")) { Next(); return 0; }
        while (true)
        {
            var p = Next();
            if (!p.Is(".param")) throw Error(p, $"expected .param in the parameter list, found {p}");
            int align = 0;
            if (Peek.Is(".align"))
            {
                Next();
                var at = Peek;
                align = ExpectInt("an alignment");
                // ptxas: "Alignment must be a power of two" (found by the differential tests; 0 included).
                if (align <= 0 || (align & (align - 1)) != 0) throw Error(at, $".align must be a power of two, found {align}");
            }
            var typeTok = ExpectWord("a parameter type");
            var type = typeTok.Text.StartsWith('.') ? PtxTypes.Parse(typeTok.Text[1..]) : null;
            if (type is null or PtxType.Pred) throw Error(typeTok, $"expected a parameter type like .u64, found {typeTok}");
            if (Peek.Is(".ptr")) throw Error(Peek, ".ptr parameter attributes are not supported by the emulator");
            var name = ExpectWord("a parameter name");
            int size = type.Value.Size();
            if (Peek.Is("["))
            {
                Next();
                size *= ExpectInt("an array size");
                Expect("]", "after the array size");
            }
            if (align == 0) align = type.Value.Size();
            offset = AlignUp(offset, align);
            if (!_params.TryAdd(name.Text, new PtxParam(name.Text, type.Value, offset, size))) throw Error(name, $"parameter '{name.Text}' is declared twice");
            offset += size;
            var sep = Next();
            if (sep.Is(")")) break;
            if (!sep.Is(",")) throw Error(sep, $"expected ',' or ')' in the parameter list, found {sep}");
        }
        return offset;
    }

    /// <summary><c>.reg .type %r&lt;N&gt;;</c> or <c>.reg .type a, b, c;</c></summary>
    private void ParseRegDecl()
    {
        var typeTok = ExpectWord("a register type");
        if (typeTok.Text is ".v2" or ".v4") throw Error(typeTok, "vector registers are not supported by the emulator");
        var type = typeTok.Text.StartsWith('.') ? PtxTypes.Parse(typeTok.Text[1..]) : null;
        if (type is null || type is PtxType.B8 or PtxType.U8 or PtxType.S8)
            throw Error(typeTok, $"expected a register type like .f32, .b64 or .pred, found {typeTok}");
        while (true)
        {
            var name = ExpectWord("a register name");
            if (Peek.Is("<"))
            {
                Next();
                int count = ExpectInt("a register count");
                Expect(">", "after the register count");
                for (int i = 0; i < count; i++) DeclareRegister(name, name.Text + i, type.Value);
            }
            else DeclareRegister(name, name.Text, type.Value);
            var sep = Next();
            if (sep.Is(";")) break;
            if (!sep.Is(",")) throw Error(sep, $"expected ',' or ';' in a .reg declaration, found {sep}");
        }
    }

    private void DeclareRegister(Token at, string name, PtxType type)
    {
        if (_regByName.ContainsKey(name)) throw Error(at, $"register {name} is declared twice");
        if (ShadowsSpecialRegister(name))
            throw Error(at, $"register {name} has the name of a special register; ptxas then reads {name}.x as that register with a video selector " +
                "and rejects the module (\"Unknown video selector\"): rename it");
        _regByName[name] = AddRegister(name, type, RegKind.Declared);
    }

    /// <summary>
    /// The special registers of the PTX ISA (section "Special Registers"), without their .x/.y/.z
    /// selectors. ptxas accepts a .reg of such a name but then parses every read of the special
    /// register as the declared one; the emulator, which would silently read the special register,
    /// rejects the declaration itself.
    /// </summary>
    private static readonly HashSet<string> SpecialRegisterNames = new(StringComparer.Ordinal)
    {
        "%tid", "%ntid", "%laneid", "%warpid", "%nwarpid", "%ctaid", "%nctaid", "%smid", "%nsmid", "%gridid",
        "%is_explicit_cluster", "%clusterid", "%nclusterid", "%cluster_ctaid", "%cluster_nctaid", "%cluster_ctarank", "%cluster_nctarank",
        "%lanemask_eq", "%lanemask_le", "%lanemask_lt", "%lanemask_ge", "%lanemask_gt", "%clock", "%clock_hi", "%clock64",
        "%globaltimer", "%globaltimer_lo", "%globaltimer_hi", "%reserved_smem_offset_begin", "%reserved_smem_offset_end",
        "%reserved_smem_offset_cap", "%total_smem_size", "%aggr_smem_size", "%dynamic_smem_size", "%current_graph_exec",
    };

    private static bool ShadowsSpecialRegister(string name)
    {
        if (SpecialRegisterNames.Contains(name)) return true;
        // %pm0..%pm7, %pm0_64..%pm7_64, %envreg0..%envreg31, %reserved_smem_offset_0/_1.
        static bool Numbered(string s, string prefix, int count, string suffix = "") =>
            s.StartsWith(prefix, StringComparison.Ordinal) && s.EndsWith(suffix, StringComparison.Ordinal) && s.Length > prefix.Length + suffix.Length
            && int.TryParse(s.AsSpan(prefix.Length, s.Length - prefix.Length - suffix.Length), System.Globalization.NumberStyles.None, null, out int i)
            && i < count && s.Length - prefix.Length - suffix.Length == (i < 10 ? 1 : 2);
        return Numbered(name, "%pm", 8) || Numbered(name, "%pm", 8, "_64") || Numbered(name, "%envreg", 32) || Numbered(name, "%reserved_smem_offset_", 2);
    }

    private int AddRegister(string name, PtxType type, RegKind kind)
    {
        _regTypes.Add(type); _regNames.Add(name); _regKinds.Add(kind);
        return _regTypes.Count - 1;
    }

    private static Instruction NewInstruction(Opcode op, Token at) => new()
    {
        Op = op, D = -1, D2 = -1, A = -1, B = -1, C = -1, E = -1, V0 = -1, V1 = -1, V2 = -1, V3 = -1,
        AddrReg = -1, Guard = -1, Vec = 1, Line = at.Line, Column = at.Column,
    };

    /// <summary>Appends an instruction with the registers it read and wrote (collected in _srcs/_dsts).</summary>
    private void Emit(ref Instruction ins)
    {
        ins.SrcStart = _pool.Count;
        foreach (int r in _srcs) if (_regKinds[r] == RegKind.Declared) _pool.Add(r);
        ins.SrcCount = _pool.Count - ins.SrcStart;
        ins.DstStart = _pool.Count;
        _pool.AddRange(_dsts);
        ins.DstCount = _dsts.Count;
        _srcs.Clear(); _dsts.Clear();
        _code.Add(ins);
    }
}
