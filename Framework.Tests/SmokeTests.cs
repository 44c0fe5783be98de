using NUnit.Framework;
using Framework;

namespace Framework.Tests;

public class SmokeTests
{
    [Test]
    public void ElementSizes() => Assert.That(DType.Float64.ElementSize(), Is.EqualTo(8));
}
