namespace Framework.Distributed.Tests;

/// <summary>Assertions of the multi-process cases; a failure throws with what was expected and what arrived.</summary>
internal static class Check
{
    public static void Close(double[] expected, double[] actual, double tol, string what)
    {
        if (expected.Length != actual.Length)
            throw new InvalidOperationException($"{what}: expected {expected.Length} values, got {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= tol * Math.Max(1, Math.Abs(expected[i]))))
                throw new InvalidOperationException($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (error {err:E2}, tolerance {tol:E1} relative)");
        }
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new InvalidOperationException($"{what}: expected {expected}, got {actual}");
    }

    /// <summary>Values of a float32, float64 or int64 tensor as doubles.</summary>
    public static double[] DAny(Tensor t) => t.DType == DType.Int64 ? Array.ConvertAll(t.ToArray<long>(), v => (double)v) : D(t);

    public static double[] D(Tensor t) => t.DType == DType.Float64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v);
}
