namespace YoloCore;

/// What a Conv block's convolution reads (IBackend's Conv2d over parts, ConvBatchNormSiluDeferred,
/// ConvBatchNormSiluBackward): tensors side by side in channels — one, or a Concat read in place
/// — each computed (its map null) or a Conv block's deferred output, BatchNorm's input with its
/// [2, C] map (scale, then shift: the value is silu(x·scale + shift)). Same N, H, W throughout.
public sealed record ConvInput(IReadOnlyList<Tensor> Parts, IReadOnlyList<Tensor?> Maps)
{
    public static ConvInput Of(Tensor x, Tensor? map = null) => new([x], [map]);

    public Tensor First => Parts[0];

    /// The concatenation's shape.
    public Shape Shape => First.Shape.With(3, Parts.Sum(p => p.Shape[3]));

    /// One computed tensor: what a plain convolution reads.
    public bool IsPlain => Parts.Count == 1 && Maps[0] is null;

    /// The value as one tensor, for a backend that cannot read the parts in place: First itself
    /// where plain, else each deferred part's silu(x·scale + shift) (BatchNormSiluMap) and the parts
    /// concatenated, in a tensor of its own (the caller disposes it unless it is First).
    public Tensor Joined(IBackend backend)
    {
        if (IsPlain) return First;
        var values = Parts.Zip(Maps, (part, map) =>
        {
            if (map is null) return part;
            var applied = Tensor.Empty(part.Shape, part.DType, part.Device);
            backend.BatchNormSiluMap(part, map, applied);
            return applied;
        }).ToList();
        if (values.Count == 1) return values[0];
        var joined = Tensor.Empty(Shape, First.DType, First.Device);
        backend.Concat(values, 3, joined);
        for (int i = 0; i < values.Count; i++)
            if (Maps[i] is not null) values[i].Dispose();
        return joined;
    }

    /// The convolution's backward (no bias) for a backend that cannot read the parts in place: over
    /// the joined value (Joined; the input gradient needs x's shape only, which one part's tensor has
    /// even where deferred), the input gradient straight into the one part's, else into the
    /// concatenation's and split into gx (SplitGradient).
    public void JoinedBackward(IBackend backend, Tensor w, Tensor gy, Conv2dGeometry g, IReadOnlyList<Tensor?> gx, Tensor? gw, IReadOnlyList<bool> addToGx)
    {
        bool single = Parts.Count == 1;
        var joined = single && (IsPlain || gw is null) ? First : Joined(backend);
        var all = single ? gx[0] : gx.Any(t => t is not null) ? Tensor.Empty(Shape, First.DType, First.Device) : null;
        try
        {
            backend.Conv2dBackward(joined, w, gy, g, all, gw, null, single && addToGx[0]);
            if (!single && all is not null) SplitGradient(backend, all, gx, addToGx);
        }
        finally
        {
            if (!ReferenceEquals(joined, First)) joined.Dispose();
            if (!single) all?.Dispose();
        }
    }

    /// The concatenation's gradient `all` split into the parts' gradients gx (null: not needed):
    /// written where a part's is fresh, added where addToGx says it holds its other consumers'.
    public void SplitGradient(IBackend backend, Tensor all, IReadOnlyList<Tensor?> gx, IReadOnlyList<bool> addToGx)
    {
        var pieces = gx.Select((t, i) => t is null ? null : addToGx[i] ? Tensor.Empty(t.Shape, t.DType, t.Device) : t).ToArray();
        backend.Split(all, 3, Parts.Select(p => p.Shape[3]).ToArray(), pieces);
        for (int i = 0; i < pieces.Length; i++)
            if (pieces[i] is { } own && addToGx[i])
            {
                backend.AddInPlace(gx[i]!, own);
                own.Dispose();
            }
    }
}
