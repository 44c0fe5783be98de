using System.Collections.Concurrent;
using Framework.Backends.Cpu;

namespace Framework.Backends;

/// <summary>
/// Maps devices to backends. The core knows only the CPU; the CUDA assemblies register their device
/// types here, which keeps the dependency arrow pointing from CUDA to the core.
/// </summary>
public static class BackendRegistry
{
    private static readonly ConcurrentDictionary<DeviceType, Func<int, Backend>> s_factories = new();
    private static readonly ConcurrentDictionary<Device, Backend> s_backends = new();

    /// <summary>The CPU backend (always present).</summary>
    public static Backend Cpu { get; } = CpuBackend.Instance;

    /// <summary>Registers the factory that creates the backend of each device of <paramref name="type"/>.</summary>
    public static void Register(DeviceType type, Func<int, Backend> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (type == DeviceType.Cpu) throw new ArgumentException("the CPU backend is built in and cannot be replaced", nameof(type));
        s_factories[type] = factory;
    }

    /// <summary>The backend of <paramref name="device"/>; throws when no backend for its type is registered.</summary>
    public static Backend Get(Device device)
    {
        if (device.Type == DeviceType.Cpu) return Cpu;
        return s_backends.GetOrAdd(device, static d =>
        {
            if (!s_factories.TryGetValue(d.Type, out var factory))
                throw new InvalidOperationException(
                    $"no backend is registered for device {d}; reference Framework.Cuda and call its registration (CudaBackend.Register()) first");
            return factory(d.Index);
        });
    }
}
