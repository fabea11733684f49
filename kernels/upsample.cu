// upsample.cu: nearest-neighbour upsampling of NHWC by an integer factor. The backward pass is a
// gather (each input element sums its scale × scale outputs): deterministic and atomic-free.
#include "common.cuh"

template <typename T>
__device__ void upsample_forward(const T* x, T* y, i64 n, int h, int w, int c, int scale)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)(i % c);
        i64 p = i / c;
        int ow = (int)(p % (w * scale)), oh = (int)(p / (w * scale) % (h * scale));
        i64 b = p / ((i64)w * scale * h * scale);
        st(y, i, ld(x, ((b * h + oh / scale) * w + ow / scale) * c + ch));
    }
}

template <typename T>
__device__ void upsample_backward(const T* gy, T* gx, i64 n, int h, int w, int c, int scale, int add)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)(i % c);
        i64 p = i / c;
        int iw = (int)(p % w), ih = (int)(p / w % h);
        i64 b = p / ((i64)w * h);
        float acc = 0.0f;
        for (int a = 0; a < scale; a++)
            for (int d = 0; d < scale; d++)
                acc += ld(gy, ((b * h * scale + ih * scale + a) * (i64)(w * scale) + iw * scale + d) * c + ch);
        st(gx, i, add ? ld(gx, i) + acc : acc); // add: into what gx's other consumers gave
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void upsample_forward_##S(const T* x, T* y, i64 n, int h, int w, int c, int scale) { upsample_forward(x, y, n, h, w, c, scale); } \
    extern "C" __global__ void upsample_backward_##S(const T* gy, T* gx, i64 n, int h, int w, int c, int scale, int add) { upsample_backward(gy, gx, n, h, w, c, scale, add); }
EXPORT_FLOAT_TYPES(EXPORT)
