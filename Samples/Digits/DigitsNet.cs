using Framework;
using Framework.Nn;

namespace Digits;

/// <summary>The sample's network, as a <see cref="Sequential"/> so its state-dict keys are PyTorch's (<c>0.weight</c>, <c>1.running_var</c>, ...).</summary>
public static class DigitsNet
{
    /// <summary>
    /// Conv(1-&gt;16, 3, pad 1) - BatchNorm2d - ReLU - Conv(16-&gt;32, 3, pad 1) - InstanceNorm2d (affine) - ReLU -
    /// MaxPool(2) - Flatten - Linear(32 * (H/2) * (W/2) -&gt; classes). BatchNorm normalises each channel
    /// over the batch; InstanceNorm normalises each image's channels on their own, which makes the
    /// second block insensitive to per-image stroke intensity.
    /// </summary>
    public static Sequential Build(int height, int width, int classes, Generator generator, Device device) => new(
        new Conv2d(1, 16, 3, padding: 1, generator: generator, device: device),
        new BatchNorm2d(16, device: device),
        new ReLU(),
        new Conv2d(16, 32, 3, padding: 1, generator: generator, device: device),
        new InstanceNorm2d(32, affine: true, device: device),
        new ReLU(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(32 * (height / 2) * (width / 2), classes, generator: generator, device: device));
}
