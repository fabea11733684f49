using System.Numerics;

namespace YoloCore.Cpu;

// The 2-D matrix product, computed by the blocked GEMM in Gemm/.
public sealed unsafe partial class CpuBackend
{
    public void MatMul(Tensor a, Tensor b, bool transA, bool transB, Tensor y, bool accumulate = false) =>
        Floating(a, "MatMul", () => MatMulKernel<float>(a, b, transA, transB, y, accumulate), () => MatMulKernel<double>(a, b, transA, transB, y, accumulate));

    static void MatMulKernel<T>(Tensor a, Tensor b, bool ta, bool tb, Tensor y, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = y.Shape[0], n = y.Shape[1], k = ta ? a.Shape[0] : a.Shape[1];
        Gemm.Multiply(ta, tb, m, n, k, Ptr<T>(a), a.Shape[1], Ptr<T>(b), b.Shape[1], Ptr<T>(y), n, accumulate);
    }
}
