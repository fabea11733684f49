namespace YoloCore;

/// Arithmetic operators, so that loss code reads like the formulas it implements.
public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    public static Tensor operator +(Tensor a, double s) => a.Affine(1, s);
    public static Tensor operator +(double s, Tensor a) => a.Affine(1, s);
    public static Tensor operator -(Tensor a, double s) => a.Affine(1, -s);
    public static Tensor operator -(double s, Tensor a) => a.Affine(-1, s);
    public static Tensor operator *(Tensor a, double s) => a.Affine(s, 0);
    public static Tensor operator *(double s, Tensor a) => a.Affine(s, 0);
    public static Tensor operator /(Tensor a, double s) => a.Affine(1 / s, 0);
}
