using Framework.Cuda.Emulator;
using NUnit.Framework;

namespace Framework.Tests.Ptxas;

/// <summary>
/// The front-end rules that differential testing against ptxas 11.8 found missing in the emulator
/// (PtxasParityTests), each pinned with a minimal input so that they hold without ptxas too. The
/// comment of each case quotes what ptxas says.
/// </summary>
public class FrontEndParityRuleTests
{
    private const string Header = ".version 6.3\n.target sm_75\n.address_size 64\n";

    private static string Kernel(string body) => Header + $$"""
        .visible .entry k(.param .u64 p)
        {
            .reg .pred %p<2>;
            .reg .u32 %r<4>;
            .reg .b64 %rd<4>;
            .reg .f32 %f<4>;
        {{body}}
            ret;
        }
        """;

    private static PtxParseException Reject(string text)
    {
        using var driver = new EmulatedCudaDriver(1);
        return Assert.Throws<PtxParseException>(() => driver.LoadModule(text, "bad.ptx"))!;
    }

    private static void Accept(string text)
    {
        using var driver = new EmulatedCudaDriver(1);
        Assert.That(() => driver.LoadModule(text, "good.ptx"), Throws.Nothing);
    }

    // ptxas: "Unknown video selector: '.x'" / "Video selector is not allowed on source operand for instruction 'mov'".
    [TestCase("%tid")]
    [TestCase("%ntid")]
    [TestCase("%ctaid")]
    [TestCase("%nctaid")]
    [TestCase("%laneid")]
    [TestCase("%warpid")]
    [TestCase("%nwarpid")]
    [TestCase("%smid")]
    [TestCase("%nsmid")]
    [TestCase("%gridid")]
    [TestCase("%clock")]
    [TestCase("%clock64")]
    [TestCase("%lanemask_lt")]
    [TestCase("%pm3")]
    [TestCase("%pm7_64")]
    [TestCase("%envreg31")]
    [TestCase("%globaltimer")]
    [TestCase("%dynamic_smem_size")]
    public void ARegisterNamedLikeASpecialRegisterIsRejected(string name)
    {
        var e = Reject(Kernel($"    .reg .u32 {name};\n    mov.u32 %r1, %tid.x;"));
        Assert.That(e.Reason, Does.Contain(name).And.Contain("special register"), e.Message);
        Assert.That(e.Line, Is.EqualTo(10), "the line of the declaration");
    }

    [TestCase("%tidx")]
    [TestCase("%thread")]
    [TestCase("%pm8")]
    [TestCase("%envreg32")]
    [TestCase("%clocks")]
    public void NamesThatOnlyResembleSpecialRegistersAreAccepted(string name) =>
        Accept(Kernel($"    .reg .u32 {name};\n    mov.u32 {name}, %tid.x;"));

    [Test]
    public void TheNormKernelsPatternIsRejected()
    {
        // What kernels/norm.ptxinc did before its registers were renamed %thread/%nthread.
        var e = Reject(Kernel("    .reg .u32 %tid, %ntid;\n    mov.u32 %tid, %tid.x;\n    mov.u32 %ntid, %ntid.x;"));
        Assert.That(e.Reason, Does.Contain("%tid"));
    }

    // ptxas 11.8: "Unsupported .version 8.0; current version is '7.8'".
    [TestCase("8.0")]
    [TestCase("9.9")]
    [TestCase("7.10")]
    public void AVersionNewerThanTheJudgeKnowsIsRejected(string version)
    {
        var e = Reject($".version {version}\n.target sm_75\n.address_size 64\n");
        Assert.That(e.Reason, Does.Contain("unsupported .version"), e.Message);
    }

    // ptxas: "Alignment must be a power of two", for parameters as for variables.
    [TestCase("0")]
    [TestCase("3")]
    [TestCase("6")]
    [TestCase("12")]
    public void AParameterAlignmentThatIsNotAPowerOfTwoIsRejected(string align)
    {
        var e = Reject(Header + $".visible .entry k(.param .u64 p, .param .align {align} .b8 q[64])\n{{\n    ret;\n}}\n");
        Assert.That(e.Reason, Does.Contain("power of two"), e.Message);
        Accept(Header + ".visible .entry k(.param .u64 p, .param .align 16 .b8 q[64])\n{\n    ret;\n}\n");
    }
}
