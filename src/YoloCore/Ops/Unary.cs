using YoloCore.Autograd;

namespace YoloCore;

/// Elementwise functions of one tensor. a and b are the op's scalar parameters where it has any.
public enum UnaryOp
{
    Neg,
    Exp,
    Log,
    Sqrt,
    Square,
    Abs,
    Atan,
    Sigmoid,
    Silu,
    /// y = a·x + b
    Affine,
    /// y = x^a
    PowScalar,
    /// y = min(max(x, a), b)
    Clamp,
}

public static partial class Ops
{
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
}
