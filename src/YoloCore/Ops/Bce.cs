using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Elementwise binary cross-entropy on logits (numerically stable form), with PyTorch's
    /// pos_weight. Reduce with Mean() for nn.BCEWithLogitsLoss's default.
    public static Tensor BceWithLogits(this Tensor logits, Tensor target, double posWeight = 1)
    {
        RequireSameDevice(logits, target, "BceWithLogits");
        if (logits.Shape != target.Shape) throw new ArgumentException($"BceWithLogits: logits {logits.Shape} and target {target.Shape} differ");
        var loss = Like(logits);
        logits.Backend.BceWithLogits(logits, target, posWeight, loss);
        if (GradMode.ShouldRecord(logits, target)) loss.GradFn = new BceNode(logits, target, posWeight);
        return loss;
    }

    sealed class BceNode : Node
    {
        readonly Tensor x, t;
        readonly double posWeight;

        public BceNode(Tensor x, Tensor t, double posWeight) : base(x, t)
        {
            this.x = Save(x);
            this.t = Save(t);
            this.posWeight = posWeight;
        }

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = NeedsGrad(0) ? Like(x) : null;
            var gt = NeedsGrad(1) ? Like(t) : null;
            x.Backend.BceWithLogitsBackward(x, t, posWeight, gy, gx, gt);
            return [gx, gt];
        }
    }
}
