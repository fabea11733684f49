using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Matrix product of 2-D tensors: op(a)·op(b).
    public static Tensor MatMul(this Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        RequireSameDevice(a, b, "MatMul");
        if (a.Rank != 2 || b.Rank != 2) throw new ArgumentException($"MatMul needs 2-D tensors, got {a.Shape} and {b.Shape}");
        int m = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0], n = transB ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw new ArgumentException($"MatMul: inner dimensions differ ({a.Shape}{(transA ? "ᵀ" : "")} · {b.Shape}{(transB ? "ᵀ" : "")})");
        var y = Like(a, new Shape(m, n));
        a.Backend.MatMul(a, b, transA, transB, y);
        if (GradMode.ShouldRecord(a, b)) y.GradFn = new MatMulNode(a, b, transA, transB);
        return y;
    }

    sealed class MatMulNode : Node
    {
        readonly Tensor a, b;
        readonly bool ta, tb;

        public MatMulNode(Tensor a, Tensor b, bool ta, bool tb) : base(a, b)
        {
            this.a = Save(a);
            this.b = Save(b);
            this.ta = ta;
            this.tb = tb;
        }

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var be = a.Backend;
            Tensor? ga = null, gb = null;
            if (NeedsGrad(0))
            {
                ga = Like(a);
                // Y = op(A)·op(B): dop(A) = gY·op(B)ᵀ; when A is stored transposed, dA = op(B)·gYᵀ.
                if (!ta) be.MatMul(gy, b, false, !tb, ga);
                else be.MatMul(b, gy, tb, true, ga);
            }
            if (NeedsGrad(1))
            {
                gb = Like(b);
                if (!tb) be.MatMul(a, gy, !ta, false, gb);
                else be.MatMul(gy, a, true, ta, gb);
            }
            return [ga, gb];
        }
    }
}
