using YoloCore.Native;

namespace YoloCore.Cuda;

// The 2-D matrix product and the cuBLAS GEMM that convolutions are made of.
public sealed unsafe partial class CudaBackend
{
    /// Row-major C[m×n] = op(A)·op(B) (+ C when accumulate) via column-major cuBLAS, which sees the
    /// transposes: Cᵀ = op(B)ᵀ·op(A)ᵀ. Inputs and output share the tensor dtype; accumulation is float32.
    /// c = a·b (+ c): a and b in dtype, c in outType (default dtype; float32 from float16 inputs
    /// is a weight gradient written in its master's dtype), float32 accumulation either way.
    void Gemm(bool transA, bool transB, int m, int n, int k, ulong a, int lda, ulong b, int ldb, ulong c, int ldc, bool accumulate, DType dtype, DType? outType = null)
    {
        gpu.MakeCurrent();
        CountLaunch("cuBLAS GEMM");
        static cudaDataType_t Of(DType t) => t == DType.Float16 ? cudaDataType_t.CUDA_R_16F : cudaDataType_t.CUDA_R_32F;
        float alpha = 1, beta = accumulate ? 1 : 0;
        Cublas.GemmEx(blas, transB ? cublasOperation_t.CUBLAS_OP_T : cublasOperation_t.CUBLAS_OP_N,
            transA ? cublasOperation_t.CUBLAS_OP_T : cublasOperation_t.CUBLAS_OP_N,
            n, m, k, &alpha, b, Of(dtype), ldb, a, Of(dtype), lda, &beta, c, Of(outType ?? dtype), ldc, cublasComputeType_t.CUBLAS_COMPUTE_32F);
    }

    public void MatMul(Tensor a, Tensor b, bool transA, bool transB, Tensor y, bool accumulate = false)
    {
        Suffix(a, "MatMul");
        int m = y.Shape[0], n = y.Shape[1], k = transA ? a.Shape[0] : a.Shape[1];
        Gemm(transA, transB, m, n, k, Ptr(a), a.Shape[1], Ptr(b), b.Shape[1], Ptr(y), n, accumulate, a.DType);
    }
}
