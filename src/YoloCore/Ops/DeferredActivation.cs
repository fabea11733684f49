namespace YoloCore;

/// A Conv block's output as the next convolution reads it: computed (Input is the value, Map is
/// null), or with BatchNorm + SiLU deferred to that convolution (Ops.ConvBatchNormSiluDeferred):
/// Input is BatchNorm's input y and Map [2, C] its scale and shift, the value silu(y·scale + shift).
/// A GPU's convolution computes a deferred value as it loads it, in its forward and again in its
/// weight gradient, so the activation is never written out nor kept for backward (a write and a
/// read of it saved, and its memory). Either way Input is the graph edge: the gradient it is given
/// is the gradient at the value. It owns what it holds unless it only borrows a computed value (Of).
public sealed class DeferredActivation : IDisposable
{
    readonly bool owns;

    DeferredActivation(Tensor input, Tensor? map, bool owns)
    {
        Input = input;
        Map = map;
        this.owns = owns;
    }

    public Tensor Input { get; }
    public Tensor? Map { get; }
    public bool IsDeferred => Map is not null;
    public Shape Shape => Input.Shape;

    /// The value itself, for a reader that is not a convolution; only while it is computed.
    public Tensor Value => IsDeferred ? throw new InvalidOperationException($"{Input} is a deferred BatchNorm + SiLU input: only a Conv block reads it") : Input;

    /// A computed value, still the caller's to dispose.
    public static DeferredActivation Of(Tensor value) => new(value, null, owns: false);

    /// A computed value that is now this one's.
    public static DeferredActivation Owning(Tensor value) => new(value, null, owns: true);

    internal static DeferredActivation Deferred(Tensor input, Tensor map) => new(input, map, owns: true);

    public void Dispose()
    {
        if (!owns) return;
        Input.Dispose();
        Map?.Dispose();
    }
}
