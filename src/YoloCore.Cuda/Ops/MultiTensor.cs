using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// The step's tail over all parameters at once (multitensor.cu): the host lists the
// tensors in chunks of up to 65536 elements, uploads the list, and one launch covers them all,
// instead of a few launches per parameter (yolov5s has 177 parameters and 349 state entries).
public sealed unsafe partial class CudaBackend
{
    const int ChunkElements = 1 << 16;

    [StructLayout(LayoutKind.Sequential)]
    struct Chunk
    {
        public ulong A, B, C;
        public long Start;
        public int Len, Group;
    }

    /// The chunk list of up to three parallel tensor lists (and each tensor's group), uploaded to the device.
    Tensor Chunks(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor>? b, IReadOnlyList<Tensor?>? c, out int count, IReadOnlyList<int>? groups = null)
    {
        var list = new List<Chunk>();
        for (int i = 0; i < a.Count; i++)
            for (long s = 0; s < a[i].Count; s += ChunkElements)
                list.Add(new Chunk
                {
                    A = Ptr(a[i]), B = b is null ? 0 : Ptr(b[i]), C = c?[i] is { } ci ? Ptr(ci) : 0,
                    Start = s, Len = (int)Math.Min(ChunkElements, a[i].Count - s), Group = groups?[i] ?? 0,
                });
        count = list.Count;
        var bytes = MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(list));
        var table = Tensor.Empty(new Shape(Math.Max(1, bytes.Length)), DType.UInt8, Device);
        if (bytes.Length > 0) fixed (byte* p = bytes) CopyFromHost((nint)p, table);
        return table;
    }

    static void RequireScalar(Tensor t, DType dtype, string what)
    {
        if (t.Count != 1 || t.DType != dtype) throw new ArgumentException($"{what} must be a {dtype.Name()} scalar, got {t}");
    }

    static void RequireSettings(Tensor t, int count, string what)
    {
        if (t.Count != count || t.DType != DType.Float64) throw new ArgumentException($"{what} must be float64 [{count}], got {t}");
    }

    public void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor scale, Tensor foundNonFinite)
    {
        if (grads.Count == 0) return;
        RequireScalar(scale, DType.Float32, "the loss scale");
        using var table = Chunks(grads, null, null, out int n);
        kernel.MtUnscaleCheck(Suffix(grads[0], "UnscaleAndCheck"), Work.Grid((uint)n, 1, 1), Ptr(table), Ptr(scale), Ptr(foundNonFinite));
    }

    public void UpdateScale(Tensor scale, Tensor cleanSteps, Tensor skipped, Tensor foundNonFinite, double growth, double backoff, int growthInterval)
    {
        RequireScalar(scale, DType.Float32, "the loss scale");
        kernel.AmpUpdateScale(1, Ptr(scale), Ptr(cleanSteps), Ptr(skipped), Ptr(foundNonFinite), growth, backoff, growthInterval);
    }

    /// One launch: the last block writes the sum and, with coefficient, the clipping factor.
    public void SumOfSquares(IReadOnlyList<Tensor> tensors, Tensor result, Tensor? coefficient = null, double maxNorm = 0)
    {
        RequireScalar(result, DType.Float32, "the sum of squares");
        if (coefficient is not null) RequireScalar(coefficient, DType.Float32, "the clipping coefficient");
        if (tensors.Count == 0)
        {
            Fill(result, 0);
            if (coefficient is not null) Fill(coefficient, 1);
            return;
        }
        using var table = Chunks(tensors, null, null, out int n);
        using var partial = Tensor.Empty(new Shape(n), DType.Float32, Device);
        kernel.MtSumSquares(Suffix(tensors[0], "SumOfSquares"), Work.Grid((uint)n, 1, 1), Ptr(table), Ptr(partial), Tickets(1), Ptr(result),
            PtrOrNull(coefficient), maxNorm);
    }

    /// One launch for tensors of one float dtype; a mixed list zeroes each dtype's tensors in turn.
    public void MultiTensorZero(IReadOnlyList<Tensor> tensors)
    {
        foreach (var group in tensors.GroupBy(t => t.DType))
        {
            var list = group.ToList();
            using var table = Chunks(list, null, null, out int n);
            if (n > 0) kernel.MtZero(Suffix(list[0], "MultiTensorZero"), Work.Grid((uint)n, 1, 1), Ptr(table));
        }
    }

    public void MultiTensorAxpby(IReadOnlyList<Tensor> targets, IReadOnlyList<Tensor> sources, Tensor coefficients)
    {
        if (targets.Count == 0) return;
        RequireSettings(coefficients, 2, "axpby's coefficients");
        foreach (var t in targets.Concat(sources))
            if (t.DType != DType.Float32) throw new ArgumentException($"MultiTensorAxpby works on float32 tensors, got {t}");
        using var table = Chunks(targets, sources, null, out int n);
        kernel.MtAxpby("f32", Work.Grid((uint)n, 1, 1), Ptr(table), Ptr(coefficients));
    }

    public void MultiTensorSgd(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor?> momentumBuffers,
        IReadOnlyList<int> groups, Tensor? gradScale, Tensor? skip, Tensor settings)
    {
        if (parameters.Count == 0) return;
        if (settings.DType != DType.Float64 || settings.Rank != 2 || settings.Shape[1] != 4 || groups.Any(g => g < 0 || g >= settings.Shape[0]))
            throw new ArgumentException($"SGD's settings must be float64 [groups, 4] with a row for every parameter's group, got {settings}");
        foreach (var p in parameters) RequireMaster(p, "MultiTensorSgd");
        if (grads.Any(g => g.DType != grads[0].DType)) throw new ArgumentException($"MultiTensorSgd's gradients share one dtype, got {string.Join(", ", grads.Select(g => g.DType.Name()).Distinct())}");
        if (gradScale is not null) RequireScalar(gradScale, DType.Float32, "the gradient scale");
        if (skip is not null) RequireScalar(skip, DType.Int32, "the skip flag");
        using var table = Chunks(parameters, grads, momentumBuffers, out int n, groups);
        kernel.MtSgd(Suffix(grads[0], "MultiTensorSgd"), Work.Grid((uint)n, 1, 1), Ptr(table), PtrOrNull(gradScale), PtrOrNull(skip), Ptr(settings));
    }
}
