using System.Reflection;

namespace Framework.Cuda;

/// <summary>
/// The embedded <c>kernels/*.ptx</c> of this assembly: templates are assembled with their
/// <see cref="KernelCatalog"/> specs, plain PTX is taken as it is. Each module is loaded into the driver
/// once, on the first request for one of its kernels.
/// </summary>
internal sealed class KernelModules
{
    private readonly ICudaDriver _driver;
    private readonly Dictionary<string, string> _fileOfKernel = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _text = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CudaModule> _loaded = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public KernelModules(ICudaDriver driver)
    {
        _driver = driver;
        foreach (var (file, text) in AssembledTexts())
        {
            _text[file] = text;
            foreach (var name in KernelTemplate.EntryNames(text)) _fileOfKernel[name] = file;
        }
    }

    /// <summary>The module texts exactly as the driver receives them, keyed by file name.</summary>
    public static IEnumerable<(string File, string Text)> AssembledTexts()
    {
        var asm = typeof(KernelModules).Assembly;
        var names = asm.GetManifestResourceNames().Where(r => r.StartsWith("kernels/", StringComparison.Ordinal)).Order().ToArray();
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var res in names.Where(r => r.EndsWith(".ptxinc", StringComparison.Ordinal)))
            foreach (var (k, v) in KernelTemplate.Sections(ReadResource(asm, res), res)) shared[k] = v;
        foreach (var res in names.Where(r => r.EndsWith(".ptx", StringComparison.Ordinal)))
        {
            string file = res["kernels/".Length..];
            string text = ReadResource(asm, res);
            yield return (file, KernelTemplate.IsTemplate(text) ? KernelTemplate.Assemble(text, file, KernelCatalog.Specs(file), shared)
                : Kernels.PtxTemplate.IsTemplate(text) ? Kernels.PtxTemplate.Assemble(text) : text);
        }
    }

    /// <summary>
    /// The highest <c>.version</c> among the embedded modules and the CUDA driver version
    /// (cuDriverGetVersion's encoding, 1000 * major + 10 * minor) whose JIT accepts it: PTX ISA 6.0-6.2
    /// came with CUDA 9.0-9.2, 6.3-6.5 with 10.0-10.2, 7.x with 11.x, 8.x with 12.x.
    /// </summary>
    public static (int Major, int Minor, int DriverVersion) RequiredDriver()
    {
        int major = 6, minor = 0;
        foreach (var (_, text) in AssembledTexts())
        {
            var m = System.Text.RegularExpressions.Regex.Match(text, @"^\s*\.version\s+(\d+)\.(\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
            if (!m.Success) continue;
            int a = int.Parse(m.Groups[1].Value), b = int.Parse(m.Groups[2].Value);
            if (a > major || (a == major && b > minor)) (major, minor) = (a, b);
        }
        int driver = major switch
        {
            6 when minor < 3 => 9000 + 10 * minor,
            6 => 10000 + 10 * (minor - 3),
            _ => (major + 4) * 1000 + 10 * minor,
        };
        return (major, minor, driver);
    }

    /// <summary>
    /// The highest <c>.target sm_NN</c> among the embedded modules as compute capability 10 * major +
    /// minor (75 for sm_75): the driver JIT-compiles PTX only for a GPU at least that new.
    /// </summary>
    public static int RequiredTarget()
    {
        int sm = 0;
        foreach (var (_, text) in AssembledTexts())
        {
            var m = System.Text.RegularExpressions.Regex.Match(text, @"^\s*\.target\s+sm_(\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
            if (m.Success) sm = Math.Max(sm, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return sm;
    }

    private static string ReadResource(Assembly asm, string name)
    {
        using var stream = asm.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"embedded kernel resource '{name}' is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public CudaFunction GetFunction(string name)
    {
        lock (_gate)
        {
            if (!_fileOfKernel.TryGetValue(name, out var file))
                throw new InvalidOperationException($"no embedded kernel is named '{name}' (modules: {string.Join(", ", _text.Keys)})");
            if (!_loaded.TryGetValue(file, out var module)) _loaded[file] = module = _driver.LoadModule(_text[file], file);
            return _driver.GetFunction(module, name);
        }
    }
}
