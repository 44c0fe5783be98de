namespace Framework.Cuda;

/// <summary>WIP</summary>
public static class NativeCudaDriver
{
    /// <summary>WIP</summary>
    public static ICudaDriver Open(int index) => throw new NotImplementedException();
}
