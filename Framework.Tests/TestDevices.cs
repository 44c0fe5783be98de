using NUnit.Framework;
using NUnit.Framework.Internal;

namespace Framework.Tests;

// How a per-device fixture is written (one class, no subclasses):
//
//     [TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
//     public class MyOpTests : BackendTestBase
//     {
//         public MyOpTests(Device device) : base(device) { }
//
//         [Test]
//         public void Works() { using var x = T([1f, 2f], 2); ... }   // tensors on Device
//     }
//
// NUnit builds one fixture per entry of TestDevices.All: `MyOpTests(Cpu)`, `MyOpTests(CudaEmulated)` and
// `MyOpTests(Cuda)`. BackendTestBase's OneTimeSetUp ignores the native one, with the driver probe's
// reason, where no usable GPU (driver, device, cuBLAS) exists, so it never passes vacuously; the
// emulated one runs with the allocator's caching off. Each fixture carries its device's category, so
//
//     dotnet test Framework.sln -c Release --no-build --filter "TestCategory=CudaNative"
//
// runs exactly the native-GPU fixtures (add `|FullyQualifiedName~NativeDriverTests` for the driver's
// own tests), "TestCategory=CudaEmulated" the interpreter ones and "TestCategory=Cpu" the CPU ones.
// A fixture that must not run on some device (none today) takes its own source, e.g. TestDevices.Gpus.
//
// Transitional: BackendTestBase still accepts the older pattern (an abstract fixture plus one subclass
// per device overriding Device), so fixtures written that way elsewhere keep compiling until converted.

/// <summary>The devices every per-device fixture runs on, as NUnit fixture arguments.</summary>
public static class TestDevices
{
    /// <summary>Category of the fixtures on the CPU backend.</summary>
    public const string CpuCategory = "Cpu";

    /// <summary>Category of the fixtures on the emulated GPU (the PTX interpreter; always runs).</summary>
    public const string CudaEmulatedCategory = "CudaEmulated";

    /// <summary>Category of the fixtures on a real GPU (ignored with the probe's reason where there is none).</summary>
    public const string CudaNativeCategory = "CudaNative";

    /// <summary>CPU, emulated GPU and native GPU: the source of every per-device fixture.</summary>
    public static IEnumerable<TestFixtureData> All
    {
        get
        {
            yield return For(Device.Cpu);
            foreach (var gpu in Gpus) yield return gpu;
        }
    }

    /// <summary>The emulated and the native GPU only, for fixtures that test the CUDA backend itself.</summary>
    public static IEnumerable<TestFixtureData> Gpus
    {
        get
        {
            yield return For(Device.CudaEmulated(0));
            yield return For(Device.Cuda(0));
        }
    }

    /// <summary>
    /// One fixture argument: the fixture is named for the device (<c>GoldenOpsTests(Cpu)</c>, not the
    /// quoted or formatted value NUnit would show by default) and carries the device's category.
    /// </summary>
    /// <param name="device">The device the fixture's tensors live on.</param>
    /// <returns>The fixture argument.</returns>
    public static TestFixtureData For(Device device)
    {
        var (name, category) = device.Type switch
        {
            DeviceType.Cpu => ("Cpu", CpuCategory),
            DeviceType.CudaEmulated => ("CudaEmulated", CudaEmulatedCategory),
            DeviceType.Cuda => ("Cuda", CudaNativeCategory),
            _ => throw new ArgumentOutOfRangeException(nameof(device), device,
                "expected a Cpu, CudaEmulated or Cuda device"),
        };
        if (device.Index != 0) name += device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var data = new TestFixtureData(device).SetArgDisplayNames(name);
        data.Properties.Add(PropertyNames.Category, category);
        return data;
    }
}
