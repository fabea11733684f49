using YoloCore.Autograd;

namespace YoloCore;

/// The differentiable op set. Each op allocates its output, asks the device's backend to compute
/// it, and (when a graph is being recorded) attaches a node with the backward rule beside it.
public static partial class Ops
{
    internal static Tensor Like(Tensor x, Shape? shape = null, DType? dtype = null) =>
        Tensor.Empty(shape ?? x.Shape, dtype ?? x.DType, x.Device);

    static void RequireFloating(Tensor x, string op)
    {
        if (!x.DType.IsFloating()) throw new ArgumentException($"{op} needs a floating tensor, got {x}");
    }

    static void RequireSameDevice(Tensor a, Tensor b, string op)
    {
        if (a.Device != b.Device) throw new ArgumentException($"{op}: {a} and {b} are on different devices");
        if (a.DType != b.DType) throw new ArgumentException($"{op}: {a} and {b} have different dtypes");
    }

    public static Tensor Unary(Tensor x, UnaryOp op, double a = 0, double b = 0)
    {
        RequireFloating(x, op.ToString());
        var y = Like(x);
        x.Backend.Unary(op, x, y, a, b);
        if (GradMode.ShouldRecord(x)) y.GradFn = new UnaryNode(x, y, op, a, b);
        return y;
    }

    public static Tensor Neg(this Tensor x) => Unary(x, UnaryOp.Neg);
    public static Tensor Exp(this Tensor x) => Unary(x, UnaryOp.Exp);
    public static Tensor Log(this Tensor x) => Unary(x, UnaryOp.Log);
    public static Tensor Sqrt(this Tensor x) => Unary(x, UnaryOp.Sqrt);
    public static Tensor Square(this Tensor x) => Unary(x, UnaryOp.Square);
    public static Tensor Abs(this Tensor x) => Unary(x, UnaryOp.Abs);
    public static Tensor Atan(this Tensor x) => Unary(x, UnaryOp.Atan);
    public static Tensor Sigmoid(this Tensor x) => Unary(x, UnaryOp.Sigmoid);
    public static Tensor Silu(this Tensor x) => Unary(x, UnaryOp.Silu);
    /// a·x + b
    public static Tensor Affine(this Tensor x, double a, double b) => Unary(x, UnaryOp.Affine, a, b);
    public static Tensor Pow(this Tensor x, double exponent) => Unary(x, UnaryOp.PowScalar, exponent);
    public static Tensor Clamp(this Tensor x, double min = double.NegativeInfinity, double max = double.PositiveInfinity) =>
        Unary(x, UnaryOp.Clamp, min, max);

    sealed class UnaryNode : Node
    {
        readonly Tensor x, y;
        readonly UnaryOp op;
        readonly double a, b;

        public UnaryNode(Tensor x, Tensor y, UnaryOp op, double a, double b) : base(x)
        {
            this.x = Save(x);
            this.y = Save(y);
            this.op = op;
            this.a = a;
            this.b = b;
        }

        public override string Name => op.ToString();

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = Like(x);
            x.Backend.UnaryBackward(op, x, y, gy, gx, a, b);
            return [gx];
        }
    }

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
