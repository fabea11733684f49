// cublas.cpp: the cuBLAS calls the engine makes (native/YoloCore.Native/Cublas.cs), on the CPU:
// column-major GEMMs of float32 and float16 with sums in double, rounded once to C's type
// (cuBLAS sums in float32 in an order of its own; parity tolerances cover both). Queued on the
// handle's stream like a kernel, so a captured step records them.
#include "emulator.h"

#define API extern "C" __attribute__((visibility("default")))

namespace
{
enum { R_32F = 0, R_64F = 1, R_16F = 2 };
enum { SUCCESS = 0, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };

struct Handle { void* stream = nullptr; };

double load(const void* p, long long i, int type)
{
    return type == R_16F ? (double)emu::h2f(((const unsigned short*)p)[i]) : type == R_64F ? ((const double*)p)[i] : (double)((const float*)p)[i];
}

void store(void* p, long long i, int type, double v)
{
    if (type == R_16F) ((unsigned short*)p)[i] = emu::f2h((float)v);
    else if (type == R_64F) ((double*)p)[i] = v;
    else ((float*)p)[i] = (float)v;
}

bool known(int type) { return type == R_32F || type == R_16F || type == R_64F; }
int element_bytes(int type) { return type == R_16F ? 2 : type == R_64F ? 8 : 4; }

// C = alpha·op(A)·op(B) + beta·C, column-major; op(X)[i, j] = X[i + j·ld] or, transposed, X[j + i·ld].
int gemm(void* h, int ta, int tb, int m, int n, int k, double alpha, unsigned long long a, int atype, int lda,
    unsigned long long b, int btype, int ldb, double beta, unsigned long long c, int ctype, int ldc,
    long long sa, long long sb, long long sc, int batch)
{
    if (!known(atype) || !known(btype) || !known(ctype)) return NOT_SUPPORTED;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || ta > 1 || tb > 1) return INVALID_VALUE;
    return emu::submit(((Handle*)h)->stream, [=] {
        for (int z = 0; z < batch; z++)
        {
            const void* A = (const char*)a + sa * z * element_bytes(atype);
            const void* B = (const char*)b + sb * z * element_bytes(btype);
            void* C = (char*)c + sc * z * element_bytes(ctype);
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                        sum += load(A, ta ? p + (long long)i * lda : i + (long long)p * lda, atype) *
                               load(B, tb ? j + (long long)p * ldb : p + (long long)j * ldb, btype);
                    long long ci = i + (long long)j * ldc;
                    store(C, ci, ctype, alpha * sum + (beta != 0 ? beta * load(C, ci, ctype) : 0.0));
                }
        }
        return 0;
    });
}

// alpha and beta are host values of the compute type's scale type: float, or double for 64F.
double scalar(const void* p, int compute) { return compute == 70 || compute == 71 ? *(const double*)p : *(const float*)p; }
}

API int cublasCreate_v2(void** h) { *h = new Handle; return SUCCESS; }
API int cublasDestroy_v2(void* h) { delete (Handle*)h; return SUCCESS; }
API int cublasGetVersion_v2(void*, int* v) { *v = 120000; return SUCCESS; }
API int cublasGetProperty(int type, int* v) { *v = type == 0 ? 12 : 0; return SUCCESS; }
API const char* cublasGetStatusString(int status) { return status == SUCCESS ? "success" : status == NOT_SUPPORTED ? "the emulator does not support this type" : "invalid value"; }
API const char* cublasGetStatusName(int status) { return status == SUCCESS ? "CUBLAS_STATUS_SUCCESS" : status == NOT_SUPPORTED ? "CUBLAS_STATUS_NOT_SUPPORTED" : "CUBLAS_STATUS_INVALID_VALUE"; }
API int cublasSetStream_v2(void* h, void* stream) { ((Handle*)h)->stream = stream; return SUCCESS; }
API int cublasSetWorkspace_v2(void*, unsigned long long, std::size_t) { return SUCCESS; }
API int cublasSetMathMode(void*, int) { return SUCCESS; }
API int cublasSetPointerMode_v2(void*, int mode) { return mode == 0 ? SUCCESS : NOT_SUPPORTED; }

API int cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha, unsigned long long a, int lda,
    unsigned long long b, int ldb, const float* beta, unsigned long long c, int ldc)
{
    return gemm(h, ta, tb, m, n, k, *alpha, a, R_32F, lda, b, R_32F, ldb, *beta, c, R_32F, ldc, 0, 0, 0, 1);
}

API int cublasGemmEx(void* h, int ta, int tb, int m, int n, int k, const void* alpha, unsigned long long a, int atype, int lda,
    unsigned long long b, int btype, int ldb, const void* beta, unsigned long long c, int ctype, int ldc, int compute, int)
{
    return gemm(h, ta, tb, m, n, k, scalar(alpha, compute), a, atype, lda, b, btype, ldb, scalar(beta, compute), c, ctype, ldc, 0, 0, 0, 1);
}

API int cublasGemmStridedBatchedEx(void* h, int ta, int tb, int m, int n, int k, const void* alpha, unsigned long long a, int atype, int lda,
    long long sa, unsigned long long b, int btype, int ldb, long long sb, const void* beta, unsigned long long c, int ctype, int ldc,
    long long sc, int batch, int compute, int)
{
    return gemm(h, ta, tb, m, n, k, scalar(alpha, compute), a, atype, lda, b, btype, ldb, scalar(beta, compute), c, ctype, ldc, sa, sb, sc, batch);
}
