namespace YoloCore;

/// A Conv block's input as the modules before left it: one tensor or several side by side in
/// channels (a Concat its reader reads in place, Concat below), each computed or with its Conv
/// block's BatchNorm + SiLU deferred to the reader (Ops.ConvBatchNormSiluDeferred): then the part
/// is BatchNorm's input y with a map [2, C] (scale, shift), its value silu(y·scale + shift). A GPU's
/// convolution computes a deferred value as it loads it, in its forward and again in its weight
/// gradient, so the activation is never written out nor kept for backward, and reads the parts
/// where they lie, so no concatenation is written either. Each part's tensor is its graph edge:
/// the gradient it is given is the gradient at its value. It owns what it holds except what it
/// only borrows (Of).
public sealed class DeferredActivation : IDisposable
{
    readonly List<(Tensor Input, Tensor? Map, bool Owned)> parts;

    DeferredActivation(List<(Tensor, Tensor?, bool)> parts) => this.parts = parts;

    public IReadOnlyList<(Tensor Input, Tensor? Map, bool Owned)> Parts => parts;

    /// The one part's tensor: the value where computed, BatchNorm's input where deferred.
    public Tensor Input => parts.Count == 1 ? parts[0].Input : throw new InvalidOperationException($"{parts.Count} parts side by side: read them as a ConvInput");

    public Tensor? Map => parts.Count == 1 ? parts[0].Map : throw new InvalidOperationException($"{parts.Count} parts side by side: read them as a ConvInput");

    /// The first part's tensor (the device, dtype, N, H and W of them all).
    public Tensor First => parts[0].Input;

    /// Anything but one computed tensor.
    public bool IsDeferred => parts.Count > 1 || parts[0].Map is not null;

    public Shape Shape => AsInput().Shape;

    public ConvInput AsInput() => new(parts.Select(p => p.Input).ToArray(), parts.Select(p => p.Map).ToArray());

    /// The value itself, for a reader that is not a convolution; only while it is one computed tensor.
    public Tensor Value => IsDeferred ? throw new InvalidOperationException($"{First} is a deferred BatchNorm + SiLU input or a concatenation read in place: only a Conv block reads it") : Input;

    /// A computed value, still the caller's to dispose.
    public static DeferredActivation Of(Tensor value) => new([(value, null, false)]);

    /// A computed value that is now this one's.
    public static DeferredActivation Owning(Tensor value) => new([(value, null, true)]);

    internal static DeferredActivation Deferred(Tensor input, Tensor map) => new([(input, map, true)]);

    /// xs side by side in channels, for the Conv block that reads them (what Ops.Concat on their
    /// values would give); their parts move here, leaving xs empty.
    public static DeferredActivation Concat(params DeferredActivation[] xs)
    {
        var all = new List<(Tensor, Tensor?, bool)>();
        foreach (var x in xs)
        {
            if (x.parts.Count == 0) throw new ObjectDisposedException("DeferredActivation", "its parts moved to another concatenation");
            var (n, h, w) = (x.First.Shape[0], x.First.Shape[1], x.First.Shape[2]);
            if (all.Count > 0 && (all[0].Item1.Shape[0], all[0].Item1.Shape[1], all[0].Item1.Shape[2]) != (n, h, w))
                throw new ArgumentException($"Concat along channels: {x.First.Shape} does not match {all[0].Item1.Shape}");
            all.AddRange(x.parts);
            x.parts.Clear();
        }
        return new(all);
    }

    public void Dispose()
    {
        foreach (var (input, map, owned) in parts)
            if (owned)
            {
                input.Dispose();
                map?.Dispose();
            }
        parts.Clear();
    }
}
