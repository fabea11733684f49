using YoloCore.Cpu;
using YoloCore.Diagnostics;

namespace YoloCore.Tests;

/// The CPU backend's fast tier (src/YoloCore.Cpu/Fast/) against its plain reference, op by op and
/// in float32, the way GPU parity checks CUDA against the CPU: every catalog case, and the wide
/// cases that take the tiled, blocked and vectorised paths.
public class CpuTierTests
{
    const double Tolerance = 1e-5; // float32 sums in another order: a few ulps, far below any bug

    public static IEnumerable<object[]> Cases => OpCatalog.All.Concat(OpCatalog.Wide).Select(c => new object[] { c.Name });

    static ((double[] Output, double[]?[] Grads) Fast, (double[] Output, double[]?[] Grads) Reference) BothTiers(OpCase c)
    {
        var values = c.DrawValues(seed: 5);
        var fast = BackendParity.Evaluate(c, values, DType.Float32, Device.Cpu);
        using (CpuBackend.ReferenceOnly())
            return (fast, BackendParity.Evaluate(c, values, DType.Float32, Device.Cpu));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheFastTierMatchesTheReference(string name)
    {
        var (fast, reference) = BothTiers(OpCatalog.Get(name));
        double outErr = BackendParity.RelativeError(fast.Output, reference.Output);
        Assert.True(outErr <= Tolerance, $"{name}: output differs by {outErr:E2}");
        for (int i = 0; i < reference.Grads.Length; i++)
        {
            if (reference.Grads[i] is null) continue;
            double gradErr = BackendParity.RelativeError(fast.Grads[i]!, reference.Grads[i]!);
            Assert.True(gradErr <= Tolerance, $"{name}: gradient of input {i} differs by {gradErr:E2}");
        }
    }

    /// The comparison above means something only if the tiers are different code: the blocked
    /// GEMM and the tiled convolution sum in another order than the reference's plain loops.
    [Theory]
    [InlineData("wide matmul")]
    [InlineData("wide conv k3 s1 p1 bias")]
    public void TheTiersAreDifferentCode(string name)
    {
        var (fast, reference) = BothTiers(OpCatalog.Get(name));
        Assert.NotEqual(reference.Output, fast.Output);
    }

    [Fact]
    public void ReferenceOnlyHoldsForItsThreadUntilDisposed()
    {
        using var x = Tensor.FromArray([1f, 2f], 2);
        Assert.True(CpuBackend.UseFast(x));
        bool otherThread = false;
        using (CpuBackend.ReferenceOnly())
        {
            Assert.False(CpuBackend.UseFast(x));
            var t = new Thread(() => otherThread = CpuBackend.UseFast(x));
            t.Start();
            t.Join();
        }
        Assert.True(otherThread, "another thread still runs the fast tier");
        Assert.True(CpuBackend.UseFast(x));
        using var d = Tensor.FromDoubles([1, 2], new Shape(2), DType.Float64);
        Assert.False(CpuBackend.UseFast(d)); // float64 always runs the reference
    }

    /// The optimizer's sum of squares (gradient clipping) is not a catalog op: compared directly.
    [Fact]
    public void TheSumOfSquaresAgreesAcrossTiers()
    {
        var rng = new Rng(7);
        using var scope = TensorScope.Begin();
        var tensors = new[] { 1, 15, 1000, 4097 }.Select(n => Tensor.Randn(new Shape(n), rng)).ToList();
        var fast = Tensor.Zeros(new Shape(1), DType.Float32, Device.Cpu);
        var reference = Tensor.Zeros(new Shape(1), DType.Float32, Device.Cpu);
        CpuBackend.Instance.SumOfSquares(tensors, fast);
        using (CpuBackend.ReferenceOnly()) CpuBackend.Instance.SumOfSquares(tensors, reference);
        double expected = tensors.Sum(t => t.ToDoubles().Sum(v => v * v));
        Assert.Equal(expected, reference.Item(), 1e-6 * expected);
        Assert.Equal(expected, fast.Item(), 1e-6 * expected);
    }
}
