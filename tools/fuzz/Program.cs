// The fuzzing harness: `dotnet Fuzz.dll TARGET` under afl-fuzz runs SharpFuzz's fork server on one
// parser (see Framework.Tests/Fuzz/FuzzTargets.cs for the targets and their documented exceptions);
// outside afl-fuzz it runs the input on stdin once, so `dotnet Fuzz.dll TARGET < crash` reproduces a
// finding. `dotnet Fuzz.dll --make-seeds DIR` writes the seed corpus (committed under
// Framework.Tests/Fuzz/Corpus). tools/fuzz/run.sh drives all of it.
using System.IO.Compression;
using System.Reflection;
using System.Text;
using Framework;
using Framework.IO;
using Framework.Tests.Fuzz;
using SharpFuzz;

if (args.Length == 2 && args[0] == "--make-seeds")
{
    Seeds.Write(args[1]);
    return 0;
}
if (args.Length != 1 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: Fuzz TARGET (one of {string.Join(", ", FuzzTargets.Names)}) | Fuzz --make-seeds DIR");
    return 2;
}
string target = args[0];
// Warm-up outside the measured runs: the first input of a target JIT-compiles the framework, which on a
// loaded machine takes longer than afl-fuzz's time limit and would be reported as a hang.
// The instrumented code counts branches into SharpFuzz's trace map, which exists only once the fork
// server runs: the warm-up counts into a scratch map of the same size instead.
if (Environment.GetEnvironmentVariable("FUZZ_WARMUP_DIR") is { Length: > 0 } warmup && Directory.Exists(warmup))
{
    unsafe
    {
        var scratch = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        SharpFuzz.Common.Trace.SharedMem = scratch;
        foreach (var f in Directory.GetFiles(warmup)) FuzzTargets.Run(target, File.ReadAllBytes(f));
        SharpFuzz.Common.Trace.SharedMem = null;
        SharpFuzz.Common.Trace.PrevLocation = 0;
        System.Runtime.InteropServices.NativeMemory.Free(scratch);
    }
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    FuzzTargets.Run(target, ms.ToArray());
});
return 0;

/// <summary>Small valid inputs for each target, for AFL++ to mutate.</summary>
internal static class Seeds
{
    public static void Write(string root)
    {
        string Dir(string t) => Directory.CreateDirectory(Path.Combine(root, t)).FullName;

        // safetensors: three dtypes, an empty tensor and metadata.
        Safetensors.Save(Path.Combine(Dir("safetensors"), "small.safetensors"), new Dictionary<string, Tensor>
        {
            ["w"] = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]),
            ["d"] = Tensor.FromArray(new double[] { -1.5 }),
            ["i"] = Tensor.FromArray(new long[] { 7, 8 }),
            ["e"] = Tensor.Zeros([0, 2]),
        }, new Dictionary<string, string> { ["format"] = "pt" });

        // checkpoint: the target's model, optimizer and schedule after one step, with the sample's metadata.
        var (model, opt, sched) = FuzzTargets.CheckpointSubjects();
        using (model)
        using (opt)
        {
            using (var scope = new TensorScope())
            {
                var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 7 }, [3, 2, 1, 1]);
                model.Forward(x).Sum().Backward();
                opt.Step();
                sched.Step();
            }
            Checkpoint.Save(Path.Combine(Dir("checkpoint"), "resume.safetensors"), model, opt, sched, new Dictionary<string, string>
            {
                ["epoch"] = "1",
                ["seed"] = "0",
                ["data"] = FuzzTargets.CheckpointData,
                ["history"] = "1,2.25,0.5,2.5,0.25,1.5,100",
            });
        }

        // IDX: images [2, 3, 3] and labels [2], plain and gzip.
        byte[] images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3, .. Enumerable.Range(0, 18).Select(i => (byte)(i * 14))];
        byte[] labels = [0, 0, 8, 1, 0, 0, 0, 2, 3, 9];
        File.WriteAllBytes(Path.Combine(Dir("idx"), "images-idx3"), images);
        File.WriteAllBytes(Path.Combine(Dir("idx"), "labels-idx1"), labels);
        File.WriteAllBytes(Path.Combine(Dir("idx"), "images-idx3.gz"), Gzip(images));

        // Digits CSV: two images, plain and gzip.
        var csv = new StringBuilder();
        for (int r = 0; r < 2; r++) csv.Append(string.Join(",", Enumerable.Range(0, 64).Select(k => (k + r) % 17))).Append(',').Append(r + 3).Append('\n');
        var csvBytes = Encoding.ASCII.GetBytes(csv.ToString());
        File.WriteAllBytes(Path.Combine(Dir("digits-csv"), "two.csv"), csvBytes);
        File.WriteAllBytes(Path.Combine(Dir("digits-csv"), "two.csv.gz"), Gzip(csvBytes));

        // PTX: a small handwritten kernel and the project's smallest assembled module, as the driver receives it.
        File.WriteAllText(Path.Combine(Dir("ptx"), "axpy.ptx"), AxpyPtx);
        var assembled = typeof(Framework.Cuda.CudaException).Assembly.GetType("Framework.Cuda.KernelModules", throwOnError: true)!
            .GetMethod("AssembledTexts", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null)!;
        foreach (var (file, text) in (IEnumerable<(string File, string Text)>)assembled)
            if (file == "optim.ptx") File.WriteAllText(Path.Combine(Dir("ptx"), file), text);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize)) gz.Write(data);
        return ms.ToArray();
    }

    private const string AxpyPtx = """
        .version 6.0
        .target sm_60
        .address_size 64
        .visible .entry axpy_f32(.param .u64 p_x, .param .u64 p_y, .param .f32 p_a, .param .u32 p_n)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<6>;
            .reg .b64 %rd<6>;
            .reg .f32 %f<4>;
            .shared .align 4 .b8 tile[128];
            ld.param.u64 %rd0, [p_x];
            cvta.to.global.u64 %rd0, %rd0;
            ld.param.u64 %rd1, [p_y];
            cvta.to.global.u64 %rd1, %rd1;
            ld.param.f32 %f0, [p_a];
            ld.param.u32 %r0, [p_n];
            mov.u32 %r1, %ctaid.x;
            mov.u32 %r2, %ntid.x;
            mov.u32 %r3, %tid.x;
            mad.lo.s32 %r4, %r1, %r2, %r3;
            setp.ge.u32 %p0, %r4, %r0;
            @%p0 bra DONE;
            mul.wide.u32 %rd2, %r4, 4;
            add.s64 %rd3, %rd0, %rd2;
            add.s64 %rd4, %rd1, %rd2;
            ld.global.f32 %f1, [%rd3];
            ld.global.f32 %f2, [%rd4];
            fma.rn.f32 %f3, %f0, %f1, %f2;
            st.global.f32 [%rd4], %f3;
            bar.sync 0;
        DONE:
            ret;
        }
        """;
}
