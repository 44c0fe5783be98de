using System.Reflection;
using Framework.Nn;
using Google.Protobuf;
using Onnx;
using static Framework.Onnx.OnnxGraphBuilder;

namespace Framework.Onnx;

/// <summary>Options of <see cref="OnnxExport.ExportOnnx(Layer, string, Tensor, OnnxExportOptions?)"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Leading dim of input and output is symbolic ("batch"), so the file runs on any batch size (default true).</summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>Graph input name (default "input").</summary>
    public string InputName { get; init; } = "input";

    /// <summary>Graph output name (default "output").</summary>
    public string OutputName { get; init; } = "output";

    /// <summary>The model's doc string (default: the module's description).</summary>
    public string? DocString { get; init; }
}

/// <summary>
/// Writes a layer as an ONNX model (opset <see cref="Opset"/>, IR version 8).
/// </summary>
/// <remarks>
/// How the graph is found: the exporter walks the layer in execution order (containers into their
/// children) and runs each layer's forward in eval mode on the sample, recording one ONNX form per
/// layer with the layer's own hyper-parameters. The autograd tape does not serve here: its nodes
/// know the backward of an op but not the op's attributes (a convolution's stride and groups, a
/// pool's ceil mode), and an eval forward under no-grad records nothing at all. Running the sample
/// through each layer gives every intermediate's rank, which forms like Linear on 3-D inputs or
/// Flatten with a custom range need, and proves the forward runs before a file is written.
/// A layer type without an ONNX form fails the export naming the type and its state-dict path.
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX default-domain opset the graphs use.</summary>
    public const int Opset = 17;

    /// <summary>IR version matching opset 17 (ONNX 1.12).</summary>
    public const int IrVersion = 8;

    /// <summary>Exports <paramref name="module"/> to <paramref name="path"/>; see <see cref="ToOnnxBytes"/>.</summary>
    public static void ExportOnnx(this Layer module, string path, Tensor sampleInput, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllBytes(path, module.ToOnnxBytes(sampleInput, options));
    }

    /// <summary>
    /// The serialized ONNX model of <paramref name="module"/> evaluated on inputs shaped like
    /// <paramref name="sampleInput"/> (the leading dim symbolic by default). Parameters and buffers
    /// become initializers named by their state-dict keys. The module's training mode is restored afterwards.
    /// </summary>
    public static byte[] ToOnnxBytes(this Layer module, Tensor sampleInput, OnnxExportOptions? options = null) =>
        module.ToOnnxModel(sampleInput, options).ToByteArray();

    internal static ModelProto ToOnnxModel(this Layer module, Tensor sampleInput, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(sampleInput);
        options ??= new OnnxExportOptions();
        if (sampleInput.DType != DType.Float32)
            throw new ArgumentException($"ONNX export expected a float32 sample input, got {sampleInput.DType}");
        bool wasTraining = module.Training;
        module.Eval();
        try
        {
            var names = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, p) in module.NamedParameters()) names[p] = name;
            foreach (var (name, b) in module.NamedBuffers()) names[b] = name;
            var paths = new Dictionary<Framework.Nn.Module, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, m) in module.NamedModules()) paths.TryAdd(m, name);

            var builder = new OnnxGraphBuilder();
            var tracer = new OnnxLayerTracer(builder, names, paths);
            Tensor output;
            string outputName;
            using (Tensor.NoGrad())
                (output, outputName) = tracer.Trace(module, sampleInput, options.InputName);
            using var owned = ReferenceEquals(output, sampleInput) ? null : output;

            var graph = builder.Graph;
            graph.Name = module.GetType().Name;
            graph.Input.Add(Value(options.InputName, sampleInput.Shape, options.DynamicBatch && sampleInput.Dim > 0));
            // The output is renamed by an Identity so that its name is the caller's, whatever node made it.
            builder.Node("Identity", null, [outputName]);
            graph.Node[^1].Output[0] = options.OutputName;
            graph.Output.Add(Value(options.OutputName, output.Shape, options.DynamicBatch && output.Dim > 0));

            var version = typeof(Layer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? typeof(Layer).Assembly.GetName().Version?.ToString() ?? "0";
            var model = new ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "Framework",
                ProducerVersion = version,
                DocString = options.DocString ?? $"{module.GetType().Name} exported by Framework.Onnx",
                Graph = graph,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
            return model;
        }
        finally
        {
            module.Train(wasTraining);
        }
    }
}
