using Framework.Cuda;
using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.OnCuda;

/// <summary>The template assembler and the embedded modules as the driver receives them.</summary>
public class KernelTemplateTests
{
    private const string Template = """
        documentation before the first directive is dropped
        //@header
        .version 6.0
        .target sm_60
        .address_size 64
        //@skeleton k
        .visible .entry {NAME}(.param .u64 p)
        {
            .reg .{T} %v;
        #a  .reg .b64 %only_a;
        {BODY}
            ret;
        }
        //@body inc
            add.{T} %v, %v, {ONE};
        //@body inc f64
        {@twice}
        //@fragment twice
            add.f64 %v, %v, %v;
        """;

    private static readonly Dictionary<string, string> NoShared = new();

    private static KernelSpec Spec(string name, string t, string operands) =>
        new(name, "k", "inc", t, operands, KernelCatalog.TypeVars(t));

    [Test]
    public void SplicesBodiesFragmentsVariablesAndOptionalLines()
    {
        var text = KernelTemplate.Assemble(Template, "t.ptx", [Spec("inc_f32", "f32", ""), Spec("inc_f64", "f64", "a")], NoShared);
        Assert.That(text, Does.Not.Contain("documentation"));
        Assert.That(text, Does.Contain(".visible .entry inc_f32(").And.Contain("add.f32 %v, %v, 0f3F800000;"));
        Assert.That(text, Does.Contain("add.f64 %v, %v, %v;"), "the dtype-specific body with its fragment");
        Assert.That(text.Split(".reg .b64 %only_a;").Length - 1, Is.EqualTo(1), "'#a' lines only where operand a is used");
        Assert.That(KernelTemplate.EntryNames(text), Is.EqualTo(new[] { "inc_f32", "inc_f64" }));
        using var driver = new EmulatedCudaDriver(1);
        Assert.That(() => driver.LoadModule(text, "t.ptx"), Throws.Nothing);
    }

    [Test]
    public void AVariableWithoutAValueIsAnError()
    {
        var spec = new KernelSpec("x_f32", "k", "inc", "f32", "", new Dictionary<string, string>());
        var e = Assert.Throws<InvalidOperationException>(() => KernelTemplate.Assemble(Template, "t.ptx", [spec], NoShared))!;
        Assert.That(e.Message, Does.Contain("x_f32").And.Contain("{T}"));
    }

    [Test]
    public void EveryEmbeddedModuleLoadsInTheStrictFrontEndAndEveryCatalogKernelResolves()
    {
        using var driver = new EmulatedCudaDriver(1);
        int kernels = 0;
        foreach (var (file, text) in KernelModules.AssembledTexts())
        {
            var module = driver.LoadModule(text, file);
            foreach (var name in KernelTemplate.EntryNames(text))
            {
                Assert.That(() => driver.GetFunction(module, name), Throws.Nothing, $"{file}: {name}");
                kernels++;
            }
            Assert.That(text, Does.StartWith("// assembled").Or.Contain(".version"), file);
        }
        int specs = 0;
        var texts = KernelModules.AssembledTexts().ToDictionary(m => m.File, m => m.Text);
        foreach (var file in new[] { "elementwise.ptx", "reduce.ptx", "softmax.ptx" })
            foreach (var spec in KernelCatalog.Specs(file))
            {
                Assert.That(texts[file], Does.Contain($".entry {spec.Name}("), spec.Name);
                specs++;
            }
        Assert.That(specs, Is.EqualTo(139), "9 copy + 3 fill + 39 unary + 48 binary + 9 where + 23 reduce + 8 softmax");
        Assert.That(kernels, Is.GreaterThanOrEqualTo(specs), "plain modules (norm.ptx) add their own");
    }
}
