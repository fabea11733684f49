using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Converts to another dtype (float16 ↔ float32 for mixed precision); the gradient converts back.
    public static Tensor Cast(this Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x.Reshape(x.Shape);
        var y = Like(x, dtype: dtype);
        x.Backend.Copy(x, y);
        if (GradMode.ShouldRecord(x) && dtype.IsFloating()) y.GradFn = new CastNode(x);
        return y;
    }

    sealed class CastNode(Tensor x) : Node(x)
    {
        readonly DType inType = x.DType;

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = Like(gy, dtype: inType);
            gy.Backend.Copy(gy, gx);
            return [gx];
        }
    }

    /// Copies to another device (same dtype). Not recorded: device moves happen at graph edges.
    public static Tensor To(this Tensor x, Device device)
    {
        if (x.Device == device) return x.Detach();
        var host = new byte[x.Bytes];
        x.CopyTo(host);
        var y = Tensor.Empty(x.Shape, x.DType, device);
        y.CopyFrom(host);
        return y;
    }

    /// A copy with its own storage, not attached to the graph.
    public static Tensor Clone(this Tensor x)
    {
        var y = Like(x);
        x.Backend.Copy(x, y);
        return y;
    }
}
