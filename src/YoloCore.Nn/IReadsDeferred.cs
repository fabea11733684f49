namespace YoloCore.Nn;

/// A module whose input only convolutions read and whose output is a Conv block's (Conv, C3,
/// SPPF): it takes its input as the module before left it (DeferredActivation) and can leave its
/// own output's BatchNorm + SiLU to the next such module (YoloModel chains them where a layer's
/// output goes to the next layer alone).
public interface IReadsDeferred
{
    Tensor Forward(DeferredActivation x);

    /// The output deferred where its last Conv block defers (ConvBnSilu.DefersActivation), else computed.
    DeferredActivation ForwardDeferred(DeferredActivation x);

    /// Whether the convolutions that read its input read a concatenation's parts where they lie
    /// (ConvBnSilu.Defers on x's device), so that a Concat before it need not write one.
    bool ReadsInPlace(Tensor x);
}

/// A module that is a Conv block (Last) over what the rest of it computes from its input (Body):
/// C3's cv3 over the concatenation, SPPF's cv2 over the pools, each a concatenation Last reads in
/// place where it defers. Its output is deferred where Last defers.
public abstract class EndsInConvBlock : Module, IReadsDeferred
{
    protected abstract ConvBnSilu Last { get; }

    public abstract bool ReadsInPlace(Tensor x);

    /// Last's input, from the module's input (computed or deferred).
    protected abstract DeferredActivation Body(DeferredActivation x);

    /// parts side by side, now the result's: for Last to read in place where it defers, else their
    /// values concatenated.
    protected DeferredActivation Joined(params DeferredActivation[] parts)
    {
        var joined = DeferredActivation.Concat(parts);
        if (Last.Defers(joined.First)) return joined;
        using (joined) return DeferredActivation.Owning(joined.Computed());
    }

    public override Tensor Forward(Tensor x) => Forward(DeferredActivation.Of(x));

    public Tensor Forward(DeferredActivation x)
    {
        using var h = Body(x);
        return Last.Forward(h);
    }

    public DeferredActivation ForwardDeferred(DeferredActivation x)
    {
        using var h = Body(x);
        return Last.ForwardDeferred(h);
    }
}
