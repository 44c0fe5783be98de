using Framework.Cuda;

namespace Framework.Cuda.Emulator;

/// <summary>
/// PTX the emulator's front end rejects: outside the supported subset, or what ptxas would reject.
/// The message reads <c>file(line,col): reason</c>, like a compiler diagnostic, and is also the JIT log.
/// </summary>
public sealed class PtxParseException : CudaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">Module name.</param>
    /// <param name="line">1-based line.</param>
    /// <param name="column">1-based column.</param>
    /// <param name="reason">What was expected and what was found.</param>
    public PtxParseException(string file, int line, int column, string reason)
        : base(CudaError.InvalidPtx, "cuModuleLoadDataEx", $"{file}({line},{column}): error: {reason}",
            $"{file}({line},{column}): error: {reason}")
    {
        File = file;
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>Module name given to the load.</summary>
    public string File { get; }

    /// <summary>1-based line of the offending token.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; }

    /// <summary>Why the text was rejected.</summary>
    public string Reason { get; }
}
