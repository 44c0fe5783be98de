using GpuKit;

// dump-ptx DIR          every assembled module exactly as cuModuleLoadDataEx receives it, one file each
// jit DIR [--emulated]  every DIR/*.ptx through the driver's JIT: logs and per-kernel resources
return args switch
{
    ["dump-ptx", var dir] => PtxDump.Run(dir),
    ["jit", var dir] => ModuleJit.Run(dir, emulated: false),
    ["jit", var dir, "--emulated"] => ModuleJit.Run(dir, emulated: true),
    _ => Usage(),
};

int Usage()
{
    Console.Error.WriteLine($"usage: GpuKit dump-ptx DIR | jit DIR [--emulated]; got: {(args.Length == 0 ? "no arguments" : string.Join(' ', args))}");
    return 2;
}
