using Framework.Cuda;

namespace GpuKit;

/// <summary>
/// Writes the modules of <see cref="KernelModules.AssembledTexts"/> (templates spliced, exactly the text
/// the native driver and the interpreter load) into a folder, so the GPU node's JIT step and any offline
/// assembler see the very bytes the backend sends.
/// </summary>
internal static class PtxDump
{
    public static int Run(string dir)
    {
        Directory.CreateDirectory(dir);
        int count = 0;
        foreach (var (file, text) in KernelModules.AssembledTexts())
        {
            File.WriteAllText(Path.Combine(dir, file), text);
            Console.WriteLine($"{file}: {text.Length} chars, {KernelTemplate.EntryNames(text).Count()} kernels");
            count++;
        }
        if (count == 0)
        {
            Console.Error.WriteLine("error: expected embedded kernels/*.ptx in Framework.Cuda, found none");
            return 1;
        }
        Console.WriteLine($"{count} modules written to {dir}");
        return 0;
    }
}
