namespace Framework.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce(Tensor, ReduceOp)"/> combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>Elementwise sum over the ranks.</summary>
    Sum,

    /// <summary>Elementwise sum divided by the world size (integer tensors: truncated toward zero).</summary>
    Average,

    /// <summary>Elementwise maximum over the ranks.</summary>
    Max,
}
