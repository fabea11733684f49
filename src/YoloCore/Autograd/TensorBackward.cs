using YoloCore.Autograd;

namespace YoloCore;

public sealed partial class Tensor
{
    /// Back-propagates from this tensor (a scalar, unless a gradient of its shape is given) and
    /// accumulates gradients into the Grad of every leaf that requires them.
    public void Backward(Tensor? gradient = null) => BackwardEngine.Run(this, gradient);
}
