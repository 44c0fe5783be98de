using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Framework.Onnx;

/// <summary>
/// Accumulates the nodes and initializers of one ONNX graph. Value names are unique: node outputs
/// are numbered, initializers keep the state-dict key they were given.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph = new();
    private readonly HashSet<string> _initializerNames = [];
    private int _counter;

    public GraphProto Graph => _graph;

    /// <summary>Adds one node and returns the name of its (single) output.</summary>
    public string Node(string opType, string? nodeName, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var output = $"{opType.ToLowerInvariant()}_{_counter++}";
        var node = new NodeProto { OpType = opType, Name = nodeName is { Length: > 0 } ? $"{nodeName}/{opType}_{_counter}" : $"{opType}_{_counter}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a float32 tensor as an initializer named <paramref name="name"/> (its state-dict key) and returns the name.</summary>
    public string Initializer(string name, Tensor t)
    {
        if (!_initializerNames.Add(name)) return name;
        if (t.DType != DType.Float32)
            throw new NotSupportedException($"ONNX export supports float32 parameters and buffers; '{name}' is {t.DType}");
        var data = t.ToArray<float>();
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(t.Shape.Select(d => (long)d));
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A float32 constant initializer filled with <paramref name="value"/> (for a layer without affine parameters).</summary>
    public string FloatConstant(string name, int[] shape, float value)
    {
        if (!_initializerNames.Add(name)) return name;
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(shape.Select(d => (long)d));
        int n = shape.Aggregate(1, (a, b) => a * b);
        var data = Enumerable.Repeat(value, n).ToArray();
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A float32 scalar constant initializer (a scalar operand of Add or Mul).</summary>
    public string ScalarConstant(double value) => FloatConstant($"const_{_counter++}", [], (float)value);

    /// <summary>An int64 constant initializer (shapes for Reshape, axes).</summary>
    public string Int64Constant(long[] values)
    {
        var name = $"const_{_counter++}";
        _initializerNames.Add(name);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        _graph.Initializer.Add(proto);
        return name;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, double value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A float tensor value with the given dims; a null dim is symbolic (named <paramref name="dynamicName"/>).</summary>
    public static ValueInfoProto Value(string name, int[] shape, bool dynamicBatch, string dynamicName = "batch")
    {
        var tensorShape = new TensorShapeProto();
        for (int i = 0; i < shape.Length; i++)
            tensorShape.Dim.Add(i == 0 && dynamicBatch
                ? new TensorShapeProto.Types.Dimension { DimParam = dynamicName }
                : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
        };
    }
}
