using System.Runtime.InteropServices;
using System.Text;
using Framework.Cuda;
using Framework.Cuda.Emulator;
using Framework.Cuda.Native;

namespace GpuKit;

/// <summary>
/// Loads every module of a folder through the project's own native driver (<see cref="NativeCudaDriver"/>:
/// its probe, driver-version check and primary context; <c>cuModuleLoadDataEx</c> as the backend calls it,
/// here with the info log and verbose JIT output as well) and reports, per kernel, what the JIT allotted:
/// registers, static shared, local (spill/stack) and constant bytes, the largest block it allows, and
/// the PTX/SASS versions, read with <c>cuFuncGetAttribute</c>. With <c>--emulated</c> the same modules go
/// through the interpreter's front end instead (no resources to report): the kit's check of itself
/// on machines without a GPU.
/// </summary>
internal static unsafe class ModuleJit
{
    // CUfunction_attribute values (cuda.h).
    private const int MaxThreads = 0, SharedBytes = 1, ConstBytes = 2, LocalBytes = 3, Registers = 4, PtxVersion = 5, BinaryVersion = 6;
    // CUjit_option values beyond the ones CudaApi names.
    private const int JitWallTime = 2, JitLogVerbose = 12;
    private const int LogSize = 64 * 1024;

    public static int Run(string dir, bool emulated)
    {
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.ptx").Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"error: expected the dumped modules (*.ptx) in '{dir}', found none");
            return 2;
        }
        return emulated ? RunEmulated(files) : RunNative(files);
    }

    private static int RunEmulated(string[] files)
    {
        using var driver = new EmulatedCudaDriver();
        int failed = 0;
        foreach (var path in files)
        {
            string name = Path.GetFileName(path), text = File.ReadAllText(path);
            try
            {
                var module = driver.LoadModule(text, name);
                var entries = KernelTemplate.EntryNames(text).ToArray();
                foreach (var e in entries) driver.GetFunction(module, e);
                driver.UnloadModule(module);
                Console.WriteLine($"OK   {name}: {entries.Length} kernels (interpreter front end; no driver JIT, no resources)");
            }
            catch (CudaException ex) // PtxParseException is one
            {
                failed++;
                Console.WriteLine($"FAIL {name}: {ex.Message}");
            }
        }
        Console.WriteLine($"modules: {files.Length - failed} loaded, {failed} failed (emulated)");
        return failed == 0 ? 0 : 1;
    }

    private static int RunNative(string[] files)
    {
        if (NativeCudaDriver.Probe(0) is { } why)
        {
            Console.WriteLine($"FAIL no usable CUDA device: {why}");
            return 2;
        }
        using var driver = NativeCudaDriver.Open(0);
        var d = driver.Device;
        Console.WriteLine($"device 0: {d}");
        var getAttribute = FuncGetAttribute();
        int failed = 0, flagged = 0;
        foreach (var path in files)
        {
            string name = Path.GetFileName(path), text = File.ReadAllText(path);
            var (status, module, errorLog, infoLog, ms) = Load(text);
            if (status != 0)
            {
                failed++;
                Console.WriteLine($"FAIL {name}: {CudaApi.Describe(status)} ({ms:F0} ms)");
                Console.WriteLine(Indent(errorLog.Length > 0 ? errorLog : "(the JIT error log is empty)"));
                if (infoLog.Length > 0) Console.WriteLine(Indent(infoLog));
                continue;
            }
            Console.WriteLine($"OK   {name}: JIT {ms:F0} ms");
            if (errorLog.Length > 0) Console.WriteLine(Indent("error log: " + errorLog));
            if (infoLog.Length > 0) Console.WriteLine(Indent(infoLog));
            Console.WriteLine($"     {"kernel",-40} {"regs",5} {"shared",7} {"local",6} {"const",6} {"maxthr",6} {"ptx",4} {"sass",4}");
            foreach (var entry in KernelTemplate.EntryNames(text))
            {
                var fn = driver.GetFunction(new CudaModule(module), entry);
                int A(int attribute)
                {
                    int v;
                    CudaApi.Check(getAttribute(&v, attribute, fn.Handle), "cuFuncGetAttribute", $"attribute {attribute} of {entry}");
                    return v;
                }
                int regs = A(Registers), shared = A(SharedBytes), local = A(LocalBytes), maxThreads = A(MaxThreads);
                // Launches use up to 256 threads per block; local bytes mean spills or a stack frame.
                string flag = (local > 0 ? $"  !! {local} B local (spills/stack)" : "") + (maxThreads < 256 ? $"  !! at most {maxThreads} threads per block" : "");
                if (flag.Length > 0) flagged++;
                Console.WriteLine($"     {entry,-40} {regs,5} {shared,7} {local,6} {A(ConstBytes),6} {maxThreads,6} {A(PtxVersion),4} {A(BinaryVersion),4}{flag}");
            }
            driver.UnloadModule(new CudaModule(module));
        }
        Console.WriteLine($"modules: {files.Length - failed} loaded, {failed} failed; {flagged} kernels flagged");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>cuModuleLoadDataEx as <see cref="NativeCudaDriver.LoadModule"/> calls it, plus the info log, verbose output and JIT wall time.</summary>
    private static (int Status, IntPtr Module, string ErrorLog, string InfoLog, float Ms) Load(string ptx)
    {
        var image = Encoding.UTF8.GetBytes(ptx + "\0");
        var error = new byte[LogSize];
        var info = new byte[LogSize];
        IntPtr module;
        int status;
        IntPtr* values = stackalloc IntPtr[6];
        fixed (byte* img = image)
        fixed (byte* e = error)
        fixed (byte* i = info)
        {
            int* options = stackalloc int[] { CudaApi.JitErrorLogBuffer, CudaApi.JitErrorLogBufferSize, CudaApi.JitInfoLogBuffer, CudaApi.JitInfoLogBufferSize, JitLogVerbose, JitWallTime };
            values[0] = (IntPtr)e; values[1] = LogSize; values[2] = (IntPtr)i; values[3] = LogSize; values[4] = 1; values[5] = 0;
            status = CudaApi.cuModuleLoadDataEx(&module, img, 6, options, values);
        }
        // CU_JIT_WALL_TIME comes back as a float in the option value's low 32 bits.
        int bits = (int)(long)values[5];
        return (status, module, Text(error), Text(info), BitConverter.Int32BitsToSingle(bits));
    }

    /// <summary>cuFuncGetAttribute from the driver library the project binds (CudaApi does not declare it).</summary>
    private static delegate* unmanaged<int*, int, IntPtr, int> FuncGetAttribute()
    {
        foreach (var file in NativeLibraries.DriverFiles)
            if (NativeLibrary.TryLoad(file, out var lib) && NativeLibrary.TryGetExport(lib, "cuFuncGetAttribute", out var f))
                return (delegate* unmanaged<int*, int, IntPtr, int>)f;
        throw new CudaException(CudaError.NotFound, "cuFuncGetAttribute", $"not exported by {string.Join(" or ", NativeLibraries.DriverFiles)}");
    }

    private static string Text(byte[] log)
    {
        int end = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end).Trim();
    }

    private static string Indent(string text) => string.Join('\n', text.Split('\n').Select(l => "       " + l.TrimEnd()));
}
