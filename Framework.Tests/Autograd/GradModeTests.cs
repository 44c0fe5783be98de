using Framework.Autograd;
using NUnit.Framework;

namespace Framework.Tests;

/// <summary>
/// Issue 10, item 4: a no-grad scope cannot leave grad mode off. Grad mode is per thread (as
/// PyTorch's); a scope disposed twice is harmless, and one disposed on another thread (as after an
/// await that resumed elsewhere) restores the opening thread and reports the mistake.
/// </summary>
public class GradModeTests
{
    private static T OnNewThread<T>(Func<T> f)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { result = f(); }
            catch (Exception e) { error = e; }
        });
        thread.Start();
        thread.Join();
        if (error is not null) throw new AggregateException(error);
        return result;
    }

    [Test]
    public void DoubleDisposeIsHarmless()
    {
        Assert.That(GradMode.IsEnabled, Is.True);
        using (var outer = Tensor.NoGrad())
        {
            var inner = Tensor.NoGrad();
            inner.Dispose();
            inner.Dispose();
            Assert.That(GradMode.IsEnabled, Is.False, "the outer scope is still open");
        }
        Assert.That(GradMode.IsEnabled, Is.True);
    }

    [Test]
    public void DisposingACopiedReferenceTwiceIsHarmless()
    {
        // The struct it replaces could be copied, and each copy turned grad mode back on once more.
        var scope = Tensor.NoGrad();
        IDisposable copy = scope;
        scope.Dispose();
        copy.Dispose();
        using (Tensor.NoGrad()) Assert.That(GradMode.IsEnabled, Is.False);
        Assert.That(GradMode.IsEnabled, Is.True);
    }

    [Test]
    public void OutOfOrderDisposeEndsWithGradModeOn()
    {
        var a = Tensor.NoGrad();
        var b = Tensor.NoGrad();
        a.Dispose();
        Assert.That(GradMode.IsEnabled, Is.False, "b is still open");
        b.Dispose();
        Assert.That(GradMode.IsEnabled, Is.True);
    }

    [Test]
    public void GradModeIsPerThread()
    {
        using (Tensor.NoGrad())
        {
            Assert.That(OnNewThread(() => GradMode.IsEnabled), Is.True, "another thread keeps recording");
            using var x = Tensor.Ones([2], DType.Float64).SetRequiresGrad();
            using var y = x * 2.0;
            Assert.That(y.RequiresGrad, Is.False);
        }
    }

    [Test]
    public void DisposeOnAnotherThreadThrowsAndRestoresTheOpeningThread()
    {
        var scope = Tensor.NoGrad();
        Assert.That(GradMode.IsEnabled, Is.False);
        var error = OnNewThread(() =>
        {
            var e = Assert.Throws<InvalidOperationException>(scope.Dispose)!;
            return (e.Message, EnabledThere: GradMode.IsEnabled);
        });
        Assert.That(error.Message, Does.Contain("disposed on thread").And.Contain("do not await inside it"));
        Assert.That(error.EnabledThere, Is.True, "the other thread's grad mode is untouched");
        Assert.That(GradMode.IsEnabled, Is.True, "the opening thread has its grad mode back");
        Assert.DoesNotThrow(scope.Dispose, "a second dispose is harmless even after the wrong-thread one");
        Assert.That(GradMode.IsEnabled, Is.True);
    }

    [Test]
    public void AwaitInsideAScopeThatResumesElsewhereIsReportedAndCorruptsNothing()
    {
        // A dedicated thread has no synchronization context, and Task.Delay's continuation runs on
        // the thread pool, so the scope is certainly disposed on another thread than it was opened on.
        async Task<bool> Body()
        {
            using (Tensor.NoGrad())
            {
                await Task.Delay(10).ConfigureAwait(false);
            }
            return true;
        }

        var (error, enabledAfter) = OnNewThread(() =>
        {
            var task = Body();
            bool enabledWhileAwaiting = GradMode.IsEnabled;
            Exception? e = null;
            try { task.GetAwaiter().GetResult(); }
            catch (InvalidOperationException ex) { e = ex; }
            return (e, GradMode.IsEnabled && !enabledWhileAwaiting);
        });
        Assert.That(error, Is.Not.Null, "the dispose after the await ran on another thread and must say so");
        Assert.That(error!.Message, Does.Contain("per thread"));
        Assert.That(enabledAfter, Is.True, "grad mode was off on the opening thread while the scope was open, and is on again once it was disposed");
    }

    [Test]
    public void BackwardLeavesGradModeOn()
    {
        using var scope = new TensorScope();
        var x = Tensor.Ones([3], DType.Float64).SetRequiresGrad();
        (x * x).Sum().Backward();
        Assert.That(GradMode.IsEnabled, Is.True);
    }
}
