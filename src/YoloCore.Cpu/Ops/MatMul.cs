using System.Numerics;

namespace YoloCore.Cpu;

// The 2-D matrix product: the reference GEMM, or Sgemm in the fast tier.
public sealed unsafe partial class CpuBackend
{
    public void MatMul(Tensor a, Tensor b, bool transA, bool transB, Tensor y, bool accumulate = false) =>
        Floating(a, "MatMul", () => MatMulKernel<float>(a, b, transA, transB, y, accumulate, UseFast(a)),
            () => MatMulKernel<double>(a, b, transA, transB, y, accumulate, false));

    static void MatMulKernel<T>(Tensor a, Tensor b, bool ta, bool tb, Tensor y, bool accumulate, bool fast) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = y.Shape[0], n = y.Shape[1], k = ta ? a.Shape[0] : a.Shape[1];
        Gemm.Multiply(fast, ta, tb, m, n, k, Ptr<T>(a), a.Shape[1], Ptr<T>(b), b.Shape[1], Ptr<T>(y), n, accumulate);
    }
}
