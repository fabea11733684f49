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
}
