using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

/// Mirrors common.cuh's Walk: an output shape and, per axis, the input's stride (0 = broadcast).
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Walk
{
    public const int MaxDims = 8;
    public int Rank;
    fixed long dims[MaxDims];
    fixed long strides[MaxDims];

    /// Walks `output` reading an input of shape `input` that broadcasts to it.
    public static Walk Broadcast(Shape output, Shape input)
    {
        var w = Create(output);
        long stride = 1;
        for (int i = output.Rank - 1; i >= 0; i--)
        {
            int j = i - (output.Rank - input.Rank);
            int d = j >= 0 ? input[j] : 1;
            w.strides[i] = d == 1 ? 0 : stride;
            stride *= d;
        }
        return w;
    }

    /// Walks y = permute(x): output axis i reads x's axis perm[i].
    public static Walk Permuted(Shape x, int[] perm)
    {
        var xs = new long[x.Rank];
        long s = 1;
        for (int i = x.Rank - 1; i >= 0; i--) { xs[i] = s; s *= x[i]; }
        var w = new Walk { Rank = x.Rank };
        for (int i = 0; i < x.Rank; i++) { w.dims[i] = x[perm[i]]; w.strides[i] = xs[perm[i]]; }
        return w;
    }

    /// A walk over the given sizes with the given strides.
    public static Walk Of(long[] sizes, long[] strideValues)
    {
        if (sizes.Length > MaxDims) throw new NotSupportedException($"tensors of rank {sizes.Length} (the CUDA backend handles up to {MaxDims})");
        var w = new Walk { Rank = sizes.Length };
        for (int i = 0; i < sizes.Length; i++) { w.dims[i] = sizes[i]; w.strides[i] = strideValues[i]; }
        return w;
    }

    static Walk Create(Shape output)
    {
        if (output.Rank > MaxDims) throw new NotSupportedException($"tensors of rank {output.Rank} (the CUDA backend handles up to {MaxDims})");
        var w = new Walk { Rank = output.Rank };
        for (int i = 0; i < output.Rank; i++) w.dims[i] = output[i];
        return w;
    }
}
