// conv2d_implicit.cuh: the forward convolution as an implicit GEMM on tensor cores, float16 NHWC
// activations and OHWI weights, float32 accumulation, no column buffer. Y[m, co] = Σ_k A[m, k]·W[co, k]
// with m = (n, oh, ow), k = (ki, kj, c) in the OHWI weight's order, and A gathered from x as im2col
// would write it (zero outside the image). Needs Cin % 8 == 0 (a 16-byte run of 8 channels never
// crosses a (ki, kj) boundary), Cout % 8 == 0 and sm_80 (cp.async, ldmatrix, mma.sync m16n8k16);
// the host checks all three. ConvGeom is conv2d.cu's, which includes this file.
//
// A block of 256 threads computes a 128 × 128 tile of Y; its 8 warps are 4 along m × 2 along co,
// 32 × 64 each: 2 × 8 mma tiles of 16 × 8. K advances 32 at a time through two shared-memory
// stages filled by cp.async, so the next tile's loads overlap this tile's math. Shared rows are
// 40 halves (32 + 8 of padding: 80 bytes), which puts the 8 rows an ldmatrix reads on distinct banks.
#pragma once

#define IG_BM 128
#define IG_BN 128
#define IG_BK 32
#define IG_LD (IG_BK + 8)

__device__ __forceinline__ unsigned smem_addr(const void* p)
{
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

#if __CUDA_ARCH__ >= 800
// 16 bytes global → shared, asynchronously; bytes = 0 writes zeros (padding and tails).
__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, int bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }

__device__ __forceinline__ void ldmatrix_x4(unsigned* r, unsigned addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// c += a·b for one 16 × 8 tile (a: 16 × 16 row-major fragment, b: 16 × 8 column-major).
__device__ __forceinline__ void mma_16816(float* c, const unsigned* a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
#endif

__device__ void conv_implicit_forward(const u16* x, const u16* w, u16* y, int m_total, int cout, int k_total, ConvGeom g)
{
#if __CUDA_ARCH__ >= 800
    __shared__ __align__(128) u16 as[2][IG_BM * IG_LD];
    __shared__ __align__(128) u16 bs[2][IG_BN * IG_LD];
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    int wm = warp & 3, wn = warp >> 2;
    int m0 = blockIdx.x * IG_BM, n0 = blockIdx.y * IG_BN;

    // Each thread fills two 16-byte segments of each stage's A and B: segment s = tid + 256·i is
    // row s / 4, columns (s % 4)·8 ... + 7. What a row needs across k-tiles is worked out once.
    int seg = (tid & 3) * 8, hw = g.ho * g.wo;
    const u16* arow[2];
    const u16* brow[2];
    int aih[2], aiw[2];
    bool aok[2], bok[2];
    for (int i = 0; i < 2; i++)
    {
        int r = (tid + 256 * i) >> 2, m = m0 + r, co = n0 + r;
        aok[i] = m < m_total;
        int mm = aok[i] ? m : 0, n = mm / hw, pix = mm - n * hw, oh = pix / g.wo, ow = pix - oh * g.wo;
        aih[i] = oh * g.sh - g.ph;
        aiw[i] = ow * g.sw - g.pw;
        arow[i] = x + (i64)n * g.h * g.w * g.cin;
        bok[i] = co < cout;
        brow[i] = w + (i64)(bok[i] ? co : 0) * k_total;
    }
    auto load = [&](int stage, int k0)
    {
        int k = k0 + seg, c = 0, ki = 0, kj = 0;
        bool kok = k < k_total;
        if (kok)
        {
            c = k % g.cin;
            int kk = k / g.cin;
            kj = kk % g.kw;
            ki = kk / g.kw;
        }
        for (int i = 0; i < 2; i++)
        {
            int r = (tid + 256 * i) >> 2, ih = aih[i] + ki, iw = aiw[i] + kj;
            bool ok = aok[i] && kok && ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
            cp_async16(smem_addr(&as[stage][r * IG_LD + seg]), ok ? arow[i] + ((i64)ih * g.w + iw) * g.cin + c : x, ok ? 16 : 0);
            bool okb = bok[i] && kok;
            cp_async16(smem_addr(&bs[stage][r * IG_LD + seg]), okb ? brow[i] + k : w, okb ? 16 : 0);
        }
        cp_async_commit();
    };

    float acc[2][8][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 8; j++)
            for (int v = 0; v < 4; v++) acc[i][j][v] = 0.0f;

    int ktiles = (k_total + IG_BK - 1) / IG_BK;
    load(0, 0);
    for (int kt = 0; kt < ktiles; kt++)
    {
        if (kt + 1 < ktiles)
        {
            load((kt + 1) & 1, (kt + 1) * IG_BK); // into the stage the previous iteration finished with
            cp_async_wait<1>();
        }
        else cp_async_wait<0>();
        __syncthreads();
        const u16* sa = as[kt & 1];
        const u16* sb = bs[kt & 1];
        for (int kk = 0; kk < IG_BK; kk += 16)
        {
            // A: matrices (rows 0-7 | 8-15) × (k 0-7 | 8-15) in a0..a3 order; B: two n8 tiles per x4,
            // each as (k 0-7, k 8-15).
            unsigned a[2][4], b[4][4];
            for (int i = 0; i < 2; i++)
                ldmatrix_x4(a[i], smem_addr(sa + (wm * 32 + i * 16 + (lane & 15)) * IG_LD + kk + (lane >> 4) * 8));
            for (int j = 0; j < 4; j++)
                ldmatrix_x4(b[j], smem_addr(sb + (wn * 64 + j * 16 + (lane >> 4) * 8 + (lane & 7)) * IG_LD + kk + ((lane >> 3) & 1) * 8));
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 8; j++)
                    mma_16816(acc[i][j], a[i], b[j >> 1][(j & 1) * 2], b[j >> 1][(j & 1) * 2 + 1]);
        }
        __syncthreads();
    }

    // Thread (g = lane / 4, q = lane % 4) holds rows g and g + 8, columns 2q and 2q + 1 of each tile.
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 8; j++)
        {
            int row = m0 + wm * 32 + i * 16 + (lane >> 2), col = n0 + wn * 64 + j * 8 + (lane & 3) * 2;
            if (col >= cout) continue; // cout % 8 == 0: col + 1 < cout as well
            if (row < m_total)
                *(unsigned*)(y + (i64)row * cout + col) = (unsigned)f2h(acc[i][j][0]) | ((unsigned)f2h(acc[i][j][1]) << 16);
            if (row + 8 < m_total)
                *(unsigned*)(y + (i64)(row + 8) * cout + col) = (unsigned)f2h(acc[i][j][2]) | ((unsigned)f2h(acc[i][j][3]) << 16);
        }
#endif
}
