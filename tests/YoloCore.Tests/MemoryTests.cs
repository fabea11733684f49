using YoloCore.Cli.Commands;

namespace YoloCore.Tests;

public class MemoryTests
{
    [Fact]
    public void ScopeFreesEverythingItCreatedExceptKeptTensors()
    {
        long before = MemoryStats.LiveBytes(Device.Cpu);
        Tensor kept;
        using (var scope = TensorScope.Begin())
        {
            var a = Tensor.Ones(new Shape(100));
            var b = a * 2.0 + a;
            kept = TensorScope.Keep(b.Sum());
            Assert.True(scope.OwnedCount >= 3);
        }
        Assert.Equal(before + sizeof(float), MemoryStats.LiveBytes(Device.Cpu));
        Assert.Equal(300.0, kept.Item());
        kept.Dispose();
        Assert.Equal(before, MemoryStats.LiveBytes(Device.Cpu));
    }

    [Fact]
    public void PeakBytesRecordTheHighWaterMark()
    {
        MemoryStats.ResetPeak(Device.Cpu);
        long start = MemoryStats.LiveBytes(Device.Cpu);
        using (var scope = TensorScope.Begin())
        {
            Tensor.Zeros(new Shape(1 << 20));
        }
        Assert.Equal(start, MemoryStats.LiveBytes(Device.Cpu));
        Assert.True(MemoryStats.PeakBytes(Device.Cpu) >= start + (4 << 20));
    }

    [Fact]
    public void ReshapeSharesStorageUntilTheLastHandleGoes()
    {
        long before = MemoryStats.LiveBytes(Device.Cpu);
        var a = TensorScope.Escape(Tensor.Ones(new Shape(4, 4)));
        var b = TensorScope.Escape(a.Reshape(16));
        Assert.Same(a.Storage, b.Storage);
        a.Dispose();
        using (TensorScope.Begin()) Assert.Equal(16.0, b.Sum().Item());
        b.Dispose();
        Assert.Equal(before, MemoryStats.LiveBytes(Device.Cpu));
        using (TensorScope.Begin()) Assert.Throws<ObjectDisposedException>(() => a.Sum());
    }

    [Fact]
    public void ScopesMustEndInReverseOrder()
    {
        var outer = TensorScope.Begin();
        var inner = TensorScope.Begin();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
    }

    [Fact]
    public void FiftyTrainingStepsDoNotGrowLiveMemory()
    {
        using var net = new TinyConvNet(seed: 3);
        using var opt = net.Optimizer(lr: 0.05);
        var (x, target) = TinyConvNet.SyntheticBatch(seed: 4);
        var live = new List<long>();
        for (int step = 0; step < 50; step++)
        {
            using (var scope = TensorScope.Begin())
            {
                var loss = net.Loss(x, target);
                loss.Backward();
                opt.Step();
                opt.ZeroGrad();
            }
            live.Add(MemoryStats.LiveBytes(Device.Cpu));
        }
        // Step 1 creates the momentum buffers; from then on every step must end where it began.
        Assert.All(live.Skip(1), l => Assert.Equal(live[1], l));
        x.Dispose();
        target.Dispose();
    }
}
