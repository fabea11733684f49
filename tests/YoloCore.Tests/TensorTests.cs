namespace YoloCore.Tests;

public class TensorTests
{
    [Theory]
    [InlineData("cpu", "cpu")]
    [InlineData("cuda", "cuda:0")]
    [InlineData("cuda:3", "cuda:3")]
    [InlineData("1", "cuda:1")]
    [InlineData(" CPU ", "cpu")]
    public void DevicesParseAsYoloV5Writes(string text, string expected) => Assert.Equal(expected, Device.Parse(text).ToString());

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void BadDevicesAreRejectedWithTheirName(string text) =>
        Assert.Contains($"'{text}'", Assert.Throws<FormatException>(() => Device.Parse(text)).Message);

    [Fact]
    public void EveryDTypeRoundTripsThroughHostArrays()
    {
        using var scope = TensorScope.Begin();
        Assert.Equal([1.5f, -2f], Tensor.FromArray([1.5f, -2f], 2).ToArray<float>());
        Assert.Equal([1.5, -2e300], Tensor.FromArray([1.5, -2e300], 2).ToArray<double>());
        Assert.Equal([(Half)0.5, (Half)(-3)], Tensor.FromArray([(Half)0.5, (Half)(-3)], 2).ToArray<Half>());
        Assert.Equal([7, -9], Tensor.FromArray([7, -9], 2).ToArray<int>());
        Assert.Equal([(byte)0, (byte)255], Tensor.FromArray([(byte)0, (byte)255], 2).ToArray<byte>());
        Assert.Equal(DType.Float16, Tensor.FromArray([(Half)1], 1).DType);
        Assert.Equal(2, DType.Float16.SizeOf());
    }

    [Fact]
    public void CastConvertsBetweenDTypesAndCarriesGradientsBack()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([0.1f, 1000.5f, -2.25f], 3);
        x.RequiresGrad = true;
        var h = x.Cast(DType.Float16);
        Assert.Equal(DType.Float16, h.DType);
        Assert.Equal([(double)(Half)0.1f, 1000.5, -2.25], h.ToDoubles());
        var back = h.Cast(DType.Float32);
        (back * 3.0).Sum().Backward();
        Assert.Equal([3f, 3f, 3f], x.Grad!.ToArray<float>());
        Assert.Equal([0, 255, 2], Tensor.FromArray([-5f, 300f, 2.4f], 3).Cast(DType.UInt8).ToDoubles());
        x.ZeroGrad();
    }

    [Fact]
    public void HalfTensorsAreStorageOnlyOnTheCpuAndSayWhy()
    {
        using var scope = TensorScope.Begin();
        var h = Tensor.FromArray([(Half)1, (Half)2], 2);
        var e = Assert.Throws<NotSupportedException>(() => h.Sigmoid());
        Assert.Contains("float16", e.Message);
    }

    [Fact]
    public void ShapeMistakesNameTheShapes()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Zeros(new Shape(2, 3));
        var b = Tensor.Zeros(new Shape(4, 3));
        Assert.Contains("[2, 3] and [4, 3]", Assert.Throws<ArgumentException>(() => a + b).Message);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => a.Reshape(4, 2)).Message);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2));
        var x = Tensor.Zeros(new Shape(1, 5, 5, 3));
        var w = Tensor.Zeros(new Shape(4, 3, 3, 2));
        Assert.Contains("3 channels", Assert.Throws<ArgumentException>(() => x.Conv2d(w)).Message);
        Assert.Throws<IndexOutOfRangeException>(() => a.IndexSelect(Tensor.FromArray([0, 2], 2)));
    }

    [Fact]
    public void ReshapeInfersOneDimension()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 2, 3, 4);
        Assert.Equal(new Shape(6, 4), a.Reshape(-1, 4).Shape);
        Assert.Equal(a.ToArray<float>(), a.Reshape(4, -1).ToArray<float>());
    }

    [Fact]
    public void PermuteMovesNhwcToNchw()
    {
        using var scope = TensorScope.Begin();
        // x[n, h, w, c] = 1000n + 100h + 10w + c
        var v = new float[2 * 3 * 4 * 5];
        for (int n = 0; n < 2; n++) for (int h = 0; h < 3; h++) for (int w = 0; w < 4; w++) for (int c = 0; c < 5; c++)
            v[((n * 3 + h) * 4 + w) * 5 + c] = 1000 * n + 100 * h + 10 * w + c;
        var nchw = Tensor.FromArray(v, 2, 3, 4, 5).Permute(0, 3, 1, 2).ToArray<float>();
        Assert.Equal(1000 + 200 + 30 + 4, nchw[((1 * 5 + 4) * 3 + 2) * 4 + 3]);
    }

    [Theory]
    [InlineData(new[] { 3, 4, 5, 6, 7 })]
    [InlineData(new[] { 8, 20, 20, 3, 85 })] // Detect's (b, h, w, anchor, outputs): many parallel chunks
    public void EveryPermutationMatchesANaiveGather(int[] dims)
    {
        using var scope = TensorScope.Begin();
        var v = Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(i => (float)i).ToArray();
        var x = Tensor.FromArray(v, dims);
        foreach (var perm in Permutations([0, 1, 2, 3, 4]))
        {
            var got = x.Permute(perm).ToArray<float>();
            var yDims = perm.Select(p => dims[p]).ToArray();
            var index = new int[5];
            for (int flat = 0; flat < got.Length; flat++)
            {
                int rem = flat;
                for (int i = 4; i >= 0; i--) { index[i] = rem % yDims[i]; rem /= yDims[i]; }
                int src = 0;
                for (int axis = 0; axis < 5; axis++) src = src * dims[axis] + index[Array.IndexOf(perm, axis)];
                if (got[flat] != v[src]) Assert.Fail($"perm [{string.Join(",", perm)}] element {flat}: {got[flat]} != {v[src]}");
            }
        }
    }

    static IEnumerable<int[]> Permutations(int[] items) => items.Length <= 1 ? [items] :
        items.SelectMany(first => Permutations(items.Where(i => i != first).ToArray()).Select(rest => (int[])[first, .. rest]));

    [Fact]
    public void RngIsReproducibleAndRestorable()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        Assert.Equal(Enumerable.Range(0, 5).Select(_ => a.NextUInt64()), Enumerable.Range(0, 5).Select(_ => b.NextUInt64()));
        var c = Rng.FromState(a.State);
        Assert.Equal(a.NextDouble(), c.NextDouble());
        Assert.NotEqual(new Rng(1).NextUInt64(), new Rng(2).NextUInt64());
    }
}
