using YoloCore.Autograd;

namespace YoloCore;

/// Elementwise functions of two tensors, with NumPy broadcasting.
public enum BinaryOp { Add, Sub, Mul, Div, Pow, Minimum, Maximum }

public static partial class Ops
{
    public static Tensor Binary(Tensor a, Tensor b, BinaryOp op)
    {
        RequireFloating(a, op.ToString());
        RequireSameDevice(a, b, op.ToString());
        var y = Like(a, Shape.Broadcast(a.Shape, b.Shape));
        a.Backend.Binary(op, a, b, y);
        if (GradMode.ShouldRecord(a, b)) y.GradFn = new BinaryNode(a, b, y.Shape, op);
        return y;
    }

    public static Tensor Add(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Add);
    public static Tensor Sub(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Sub);
    public static Tensor Mul(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Mul);
    public static Tensor Div(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Div);
    public static Tensor Pow(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Pow);
    public static Tensor Minimum(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Minimum);
    public static Tensor Maximum(this Tensor a, Tensor b) => Binary(a, b, BinaryOp.Maximum);

    sealed class BinaryNode : Node
    {
        readonly Tensor a, b;
        readonly Shape outShape;
        readonly BinaryOp op;

        public BinaryNode(Tensor a, Tensor b, Shape outShape, BinaryOp op) : base(a, b)
        {
            this.a = Save(a);
            this.b = Save(b);
            this.outShape = outShape;
            this.op = op;
        }

        public override string Name => op.ToString();

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            if (op == BinaryOp.Add) return [NeedsGrad(0) ? PassOn(gy, a.Shape) : null, NeedsGrad(1) ? PassOn(gy, b.Shape) : null];
            var ga = NeedsGrad(0) ? Like(gy) : null;
            var gb = NeedsGrad(1) ? Like(gy) : null;
            a.Backend.BinaryBackward(op, a, b, gy, ga, gb);
            return [ReduceTo(ga, a.Shape), ReduceTo(gb, b.Shape)];
        }

        /// Both inputs of a sum get gy itself: shared rather than copied when the shapes match (the
        /// engine copies before it would ever add into shared storage), summed down where an input
        /// was broadcast.
        static Tensor PassOn(Tensor gy, Shape shape)
        {
            if (gy.Shape == shape) return gy.ShareStorage(shape);
            var r = Like(gy, shape);
            gy.Backend.SumTo(gy, r);
            return r;
        }

        static Tensor? ReduceTo(Tensor? g, Shape shape)
        {
            if (g is null || g.Shape == shape) return g;
            var r = Like(g, shape);
            g.Backend.SumTo(g, r);
            g.Dispose();
            return r;
        }
    }
}
