// conv2d_implicit.cuh: the convolution's forward and weight gradient as implicit GEMMs on tensor
// cores (the input gradient is the forward reading the weights flipped, one phase of rows and
// columns per stride step, see conv2d.cu's conv_implicit_dgrad). Float16 NHWC
// activations and OHWI weights, float32 accumulation, no column buffer. Y[m, co] = Σ_k A[m, k]·W[co, k]
// with m = (n, oh, ow), k = (ki, kj, c) in the OHWI weight's order, and A gathered from x as im2col
// would write it (zero outside the image). Needs Cin % 8 == 0 in the weights (a 16-byte run of 8
// channels never crosses a (ki, kj) boundary; x may have fewer, x_channels) and sm_80 (cp.async,
// ldmatrix, mma.sync m16n8k16), and for the gradients Cout % 8 == 0 (gy is read 8 channels at a
// time); the host checks them. ConvGeom and OutMap are conv2d.cu's, which includes this file.
//
// A block of 256 threads computes a 128 × 128 tile of Y (or 128 × 64, 128 × 32 for layers with
// fewer output channels); its 8 warps are 4 along m × 2 along co, 32 × 64 each (32 × 32, 32 × 16):
// 2 × 8 (4, 2) mma tiles of 16 × 8. K advances 32 at a time through two shared-memory
// stages filled by cp.async, so the next tile's loads overlap this tile's math. Shared rows are
// 40 halves (32 + 8 of padding: 80 bytes), which puts the 8 rows an ldmatrix reads on distinct banks.
#pragma once

#define IG_BM 128
#define IG_BK 32
#define IG_LD (IG_BK + 8)

#if defined(YOLOCORE_EMULATOR) // tests/cuda-emulator: the same instructions on the CPU (a copy lands when waited for)
__device__ __forceinline__ unsigned smem_addr(const void* p) { return emu::shared_address(p); }
__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, int bytes) { emu::cp_async(emu::shared_pointer(dst), src, bytes); }
__device__ __forceinline__ void cp_async_commit() { emu::cp_async_commit(); }
template <int N> __device__ __forceinline__ void cp_async_wait() { emu::cp_async_wait(N); }
__device__ __forceinline__ void ldmatrix_x4(unsigned* r, unsigned addr) { emu::ldmatrix_x4(r, addr, false); }
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, unsigned addr) { emu::ldmatrix_x4(r, addr, true); }
__device__ __forceinline__ void mma_16816(float* c, const unsigned* a, unsigned b0, unsigned b1) { emu::mma_16816(c, a, b0, b1); }
#else
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

// The same, each 8 × 8 matrix transposed on the way (for operands stored the other way round).
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, unsigned addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
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
#endif

#if __CUDA_ARCH__ >= 800
// A warp's 32 × 8·NT tile: 2 × NT accumulators of 16 × 8, from two A fragments (16 rows each) and
// NT / 2 ldmatrix.x4 of B (two 8-wide tiles each).
template <int NT>
__device__ __forceinline__ void warp_tile_zero(float (&acc)[2][NT][4])
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < NT; j++)
            for (int v = 0; v < 4; v++) acc[i][j][v] = 0.0f;
}

template <int NT>
__device__ __forceinline__ void warp_tile_mma(float (&acc)[2][NT][4], const unsigned (&a)[2][4], const unsigned (&b)[NT / 2][4])
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < NT; j++)
            mma_16816(acc[i][j], a[i], b[j >> 1][(j & 1) * 2], b[j >> 1][(j & 1) * 2 + 1]);
}

// The two-stage pipeline both kernels run: tile t + 1's copies are in flight while tile t is
// computed. load(stage, t) issues tile t's cp.async group into a stage; land(stage, t) is what a
// thread does to its own copies of tile t once they are in (a deferred BatchNorm + SiLU, XParts);
// compute(stage) reads the stage.
template <typename Load, typename Land, typename Compute>
__device__ __forceinline__ void two_stage_pipeline(int tiles, Load& load, Land& land, Compute& compute)
{
    if (tiles <= 0) return;
    load(0, 0);
    for (int t = 0; t < tiles; t++)
    {
        if (t + 1 < tiles)
        {
            load((t + 1) & 1, t + 1); // into the stage the previous iteration finished with
            cp_async_wait<1>();
        }
        else cp_async_wait<0>();
        land(t & 1, t);
        __syncthreads();
        compute(t & 1);
        __syncthreads();
    }
}
#endif

// A block's place in the grid it computes: its launch's own (here()), or its share of a launch
// that runs two grids side by side (conv2d.cu's conv_implicit_backward), x counted fastest.
struct Place
{
    int x, y, z, nx, ny, nz;
};

__device__ __forceinline__ Place here() { return {(int)blockIdx.x, (int)blockIdx.y, (int)blockIdx.z, (int)gridDim.x, (int)gridDim.y, (int)gridDim.z}; }

__device__ __forceinline__ Place place_of(int b, int nx, int ny, int nz) { return {b % nx, b / nx % ny, b / (nx * ny), nx, ny, nz}; }

// BatchNorm's batch sums in the forward's epilogue (issue 13, item 2): per output column, Σy and Σy²
// over the block's 128 rows, into partial[(p.x·2 + j)·cout + col] (j = 0: Σy, 1: Σy²). Fixed
// order, so deterministic: a thread's 4 rows, the 8 lanes of a column (xor shuffles), then the 4
// warps along m in order. red is [4 warps along m][bn columns][2] floats in the pipeline's shared
// memory, free once it has ended (it ends on __syncthreads). Then the blocks' partials are added
// up in the same launch, in two levels of "last block reduces" (last_to_arrive, common.cuh): the
// last block of each group of `group` consecutive row blocks adds the group's partials in double
// into groups[(group index·2 + j)·cout + col], and the last group's adds the groups into
// sums[j·cout + col], and for a deferred Conv block (e.stats) turns them into BatchNorm's statistics:
// no launch of its own. Two levels keep each serial step short: the stem at 640 px, batch 64 has
// 51,200 row blocks.
struct EpilogueSums
{
    float* partial; // null: no sums
    double* groups;
    u32* tickets;   // ⌈row blocks / group⌉ counters per column block, then one per column block
    double* sums;
    int group;
    BnStatistics stats; // with stats.map, the last block also finishes BatchNorm's statistics from the sums
};

__device__ __forceinline__ void epilogue_sums_warp(float (&s)[2], float (&q)[2], int lane, int wm, int col0, float* red, int bn)
{
    for (int o = 4; o < 32; o <<= 1)
        for (int v = 0; v < 2; v++)
        {
            s[v] += __shfl_xor_sync(0xffffffffu, s[v], o);
            q[v] += __shfl_xor_sync(0xffffffffu, q[v], o);
        }
    if (lane < 4)
        for (int v = 0; v < 2; v++)
        {
            int cl = col0 + lane * 2 + v;
            red[(wm * bn + cl) * 2] = s[v];
            red[(wm * bn + cl) * 2 + 1] = q[v];
        }
}

// Rows first..first+count-1 of p[(row·2 + j)·cout + col] added per column of the block's bn, in
// double: thread t adds every (256 / bn)-th row of column t % bn (a warp reads neighbouring
// columns), then the lanes are added in order; valid in threads t < bn.
template <typename S>
__device__ __forceinline__ void column_totals(const S* p, int first, int count, int n0, int cout, int bn, double* red, double (&t)[2])
{
    int lanes = blockDim.x / bn, cl = threadIdx.x % bn, lane = threadIdx.x / bn, col = n0 + cl;
    double a = 0.0, b = 0.0;
    if (col < cout)
        for (int r = first + lane; r < first + count; r += lanes)
        {
            a += ld_cg(p + ((i64)r * 2) * cout + col);
            b += ld_cg(p + ((i64)r * 2 + 1) * cout + col);
        }
    red[threadIdx.x * 2] = a;
    red[threadIdx.x * 2 + 1] = b;
    __syncthreads();
    t[0] = t[1] = 0.0;
    if (threadIdx.x < bn)
        for (int l = 0; l < lanes; l++)
        {
            t[0] += red[(l * bn + cl) * 2];
            t[1] += red[(l * bn + cl) * 2 + 1];
        }
    __syncthreads();
}

// red: the pipeline's shared memory, as floats for the block's partial, then as doubles. rows: the
// GEMM's m, BatchNorm's count.
__device__ __forceinline__ void epilogue_sums_block(float* red, const EpilogueSums& e, const Place& p, int n0, int cout, int bn, int rows)
{
    __syncthreads();
    for (int cl = threadIdx.x; cl < bn; cl += blockDim.x)
    {
        int col = n0 + cl;
        if (col >= cout) continue;
        float s = 0.0f, q = 0.0f;
        for (int wm = 0; wm < 4; wm++)
        {
            s += red[(wm * bn + cl) * 2];
            q += red[(wm * bn + cl) * 2 + 1];
        }
        e.partial[((i64)p.x * 2) * cout + col] = s;
        e.partial[((i64)p.x * 2 + 1) * cout + col] = q;
    }
    int gi = p.x / e.group, groups = (p.nx + e.group - 1) / e.group, first = gi * e.group;
    if (!last_to_arrive(e.tickets + (i64)p.y * groups + gi, imin(e.group, p.nx - first))) return;
    double t[2];
    column_totals(e.partial, first, imin(e.group, p.nx - first), n0, cout, bn, (double*)red, t);
    int col = n0 + threadIdx.x;
    bool mine = threadIdx.x < bn && col < cout;
    if (groups > 1)
    {
        if (mine)
        {
            e.groups[((i64)gi * 2) * cout + col] = t[0];
            e.groups[((i64)gi * 2 + 1) * cout + col] = t[1];
        }
        if (!last_to_arrive(e.tickets + (i64)p.ny * groups + p.y, groups)) return;
        column_totals(e.groups, 0, groups, n0, cout, bn, (double*)red, t);
    }
    if (mine)
    {
        e.sums[col] = t[0];
        e.sums[cout + col] = t[1];
        if (e.stats.map) bn_statistics(col, e.sums, rows, cout, e.stats);
    }
}

// Where the input gradient's B operand comes from (conv2d.cu's conv_implicit_dgrad): the layer's
// own OHWI weights [co][kh][kw][ci], read flipped and channel-transposed for one phase of the
// stride, so that no copy of them is made. With k = (ti, tj, co) over the phase's taps (g.kh × g.kw
// of them) and gy's channels, B[ci, k] = w[co, rh + sh·(g.kh-1-ti), rw + sw·(g.kw-1-tj), ci]: 8
// neighbouring ci of one k are 16 contiguous bytes, so B is staged k-major ([k][ci]) and read
// with ldmatrix.trans, which hands each thread the fragment a [ci][k] stage would.
struct FlippedWeights
{
    const u16* w; // the layer's weights
    int kh, kw, sh, sw, rh, rw;
};

// BatchNorm + SiLU's input gradient computed where the backward reads gy (the Conv block's
// backward, Ops.ConvBatchNormSilu): with coef set, the gy the kernels are handed is the gradient
// at the block's output, x is BatchNorm's input (this convolution's output) and coef its
// coefficients (batchnorm2d.cuh). Each 8-channel segment is then loaded, turned into BatchNorm's
// input gradient and stored to shared memory by its thread, not by cp.async (so its loads do not
// overlap the previous tile's math); the gradient itself is never written out.
struct BnGrad
{
    const u16* x;
    const float* coef;
};

struct __align__(16) h8
{
    u16 h[8];
};

// The convolution's input as it reads it (the Conv block's, Ops.ConvBatchNormSilu): x itself
// (count 0), or up to 4 tensors side by side in channels (count of them: one, or a Concat read in
// place, part q holding channels[q] of the concatenation's, each a multiple of 8), each with the
// map of a deferred BatchNorm + SiLU or none. With map[q] set, part q holds the previous Conv
// block's BatchNorm input and the convolution reads silu(x·scale + shift) per channel, map[q][c] =
// scale and map[q][channels[q] + c] = shift (batchnorm2d.cuh's BnStatistics), computed where the
// forward and the weight gradient load x (bn_apply_in_place; zeros stay zeros: the padding is the
// activation's): the activation is never written out nor kept for backward.
#define MAX_PARTS 4
struct XParts
{
    const u16* x[MAX_PARTS];
    const float* map[MAX_PARTS];
    int channels[MAX_PARTS];
    int count;
};

// Where the input gradient of a concatenation read in place goes (the reader's backward over an
// XParts input): part q's channels of gx into y[q] (null: not needed), added to what is there
// where add[q]. count 0: gx itself, OutMap's add.
struct OutParts
{
    u16* y[MAX_PARTS];
    int channels[MAX_PARTS];
    int add[MAX_PARTS];
    int count;
};

// Channel c of the concatenation: its part's tensor, map and channels, and c within the part
// (constant indices only, so the table stays in the kernel's parameters).
struct PartAt
{
    const u16* x;
    const float* map;
    int channels, c;
};

template <int P = MAX_PARTS> // the most parts the caller takes
__device__ __forceinline__ PartAt part_at(const XParts& in, int c)
{
    PartAt a = {in.x[0], in.map[0], in.channels[0], c};
    for (int q = 1; q < P; q++)
        if (q < in.count && a.c >= a.channels) a = {in.x[q], in.map[q], in.channels[q], a.c - a.channels};
    return a;
}

// Channels c ... c + 7 of a pixel of a part, as cp.async left them in shared memory at p (16-byte
// aligned), with the part's map applied in place. The same arithmetic as bn_silu_apply
// (batchnorm2d.cu). A thread does this to its own segments once its copies have landed
// (cp_async_wait makes them visible to it), before the barrier that hands the tile to the block:
// the loads stay asynchronous, and the map's loads live only here.
__device__ __forceinline__ void bn_apply_in_place(u16* p, const float* map, int c, int channels)
{
    h8 v = *(h8*)p;
    for (int e = 0; e < 8; e++)
    {
        float z = h2f(v.h[e]) * map[c + e] + map[channels + c + e];
        v.h[e] = f2h(z * bn_sigmoid(z));
    }
    *(h8*)p = v;
}

// Channels c ... c + 7 of a pixel of x with x_channels < c + 8 channels (the stem's 3, the kernel's k
// counting 8 per tap), zeros for the rest and where !ok, into shared memory at dst (16-byte
// aligned): read a half at a time where cp.async would need the zero-padded copy of x.
__device__ __forceinline__ void narrow_segment(const u16* px, int c, int x_channels, bool ok, u16* dst)
{
    h8 out = {};
    if (ok)
        for (int e = 0; e < 8 && c + e < x_channels; e++) out.h[e] = px[e];
    *(h8*)dst = out;
}

// Channels c ... c + 7 at element i of gy and bn.x, as BatchNorm's input gradient, into shared
// memory at dst (16-byte aligned); zeros where !ok (padding, tails).
__device__ __forceinline__ void bn_grad_segment(const u16* gy, const BnGrad& bn, i64 i, int c, bool ok, u16* dst)
{
    h8 out = {};
    if (ok)
    {
        h8 g = *(const h8*)(gy + i), v = *(const h8*)(bn.x + i);
        for (int e = 0; e < 8; e++) out.h[e] = f2h(bn_input_grad_at<true>(h2f(g.h[e]), h2f(v.h[e]), bn.coef + (i64)(c + e) * BN_COEFS));
    }
    *(h8*)dst = out;
}

// The forward's shared memory in halves: A's two stages of IG_BM rows of IG_LD, then B's: BN rows
// of IG_LD (n-major), or FLIPPED IG_BK rows of BN + 8 halves (k-major; the 8 of padding again put
// an ldmatrix's 8 rows on distinct banks).
template <int NT, bool FLIPPED>
__device__ constexpr int forward_smem_halves() { return 2 * IG_BM * IG_LD + 2 * (FLIPPED ? IG_BK * (16 * NT + 8) : 16 * NT * IG_LD); }

// The forward's tile is 128 rows (m) × 16·NT columns (co): NT = 8, 4 or 2 for 128, 64 or 32, so
// a layer with few output channels does not compute empty columns. 2 warps share the columns.
// FLIPPED: B from FlippedWeights f instead of w, and with bn.coef A (gy) as BnGrad says; else with
// in.count A (x) from XParts (x_channels then g.cin). p: the
// tile (x along m, y along co); smem: forward_smem_halves, 128-byte aligned. bias (or null) is
// added in the epilogue. Any cout: an odd one is stored a half at a time. x_channels: x's own
// channels per pixel, g.cin (a multiple of 8) or fewer (narrow_segment); 0 for g.cin.
template <int NT, bool FLIPPED = false>
__device__ void conv_implicit_forward(const u16* x, const u16* w, u16* y, EpilogueSums e, int m_total, int cout, int k_total, ConvGeom g, OutMap om,
    Place p, u16* smem, FlippedWeights f = FlippedWeights{}, BnGrad bn = BnGrad{}, const u16* bias = nullptr, int x_channels = 0, XParts in = XParts{}, OutParts op = OutParts{})
{
#if __CUDA_ARCH__ >= 800
    constexpr int BN = 16 * NT, BSEGS = (BN * 4 + 255) / 256, BLD = FLIPPED ? BN + 8 : IG_LD, BROWS = FLIPPED ? IG_BK : BN;
    auto as = (u16(*)[IG_BM * IG_LD])smem;
    auto bs = (u16(*)[BROWS * BLD])(smem + 2 * IG_BM * IG_LD);
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    int wm = warp & 3, wn = warp >> 2;
    int m0 = p.x * IG_BM, n0 = p.y * BN;

    // Each thread fills two 16-byte segments of each stage's A (and BN / 64 of B, or one for the
    // first BN·4 threads): segment s = tid + 256·i is row s / 4, columns (s % 4)·8 ... + 7. What a
    // row needs across k-tiles is worked out once.
    int seg = (tid & 3) * 8, hw = g.ho * g.wo, xc = x_channels > 0 ? x_channels : g.cin;
    const u16* arow[2];
    const u16* brow[BSEGS];
    int aih[2], aiw[2];
    bool aok[2], bok[BSEGS], bmine[BSEGS];
    for (int i = 0; i < 2; i++)
    {
        int r = (tid + 256 * i) >> 2, m = m0 + r;
        aok[i] = m < m_total;
        int mm = aok[i] ? m : 0, n = mm / hw, pix = mm - n * hw, oh = pix / g.wo, ow = pix - oh * g.wo;
        aih[i] = oh * g.sh - g.ph;
        aiw[i] = ow * g.sw - g.pw;
        arow[i] = x + (i64)n * g.h * g.w * xc;
    }
    // B's segment s: row s / 4 (co), columns (s % 4)·8 ... + 7 of the stage's k; FLIPPED, row
    // s / (BN / 8) (k), columns (s % (BN / 8))·8 ... + 7 (ci).
    for (int i = 0; i < BSEGS; i++)
    {
        int s = tid + 256 * i, co = n0 + (FLIPPED ? s % (BN / 8) * 8 : s >> 2);
        bmine[i] = s < BN * 4;
        bok[i] = bmine[i] && co < cout;
        brow[i] = FLIPPED ? f.w + co : w + (i64)(bok[i] ? co : 0) * k_total;
    }
    unsigned landed = 0; // bit stage·2 + i: segment i of that stage holds pixels of x (not padding)
    auto load = [&](int stage, int tile)
    {
        int k = tile * IG_BK + seg, c = 0, ki = 0, kj = 0;
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
            const u16* src = ok ? arow[i] + ((i64)ih * g.w + iw) * xc + c : x;
            if (!FLIPPED && in.count && ok)
            {
                // Parts: x is the first part and xc all of theirs, so arow gives the pixel's index.
                PartAt a = part_at(in, c);
                src = a.x + ((arow[i] - x) / xc + (i64)ih * g.w + iw) * a.channels + a.c;
            }
            if (FLIPPED && bn.coef) bn_grad_segment(x, bn, src - x, c, ok, &as[stage][r * IG_LD + seg]);
            else if (!FLIPPED && xc < g.cin) narrow_segment(src, c, xc, ok, &as[stage][r * IG_LD + seg]);
            else cp_async16(smem_addr(&as[stage][r * IG_LD + seg]), src, ok ? 16 : 0);
            unsigned bit = 1u << (stage * 2 + i);
            landed = ok ? landed | bit : landed & ~bit;
        }
        for (int i = 0; i < BSEGS; i++)
        {
            if (!bmine[i]) continue;
            if (FLIPPED)
            {
                int s = tid + 256 * i, kl = s / (BN / 8), kb = tile * IG_BK + kl;
                bool okf = bok[i] && kb < k_total;
                const u16* src = f.w;
                if (okf)
                {
                    int co = kb % g.cin, r = kb / g.cin, tj = r % g.kw, ti = r / g.kw;
                    src = brow[i] + (((i64)co * f.kh + f.rh + f.sh * (g.kh - 1 - ti)) * f.kw + f.rw + f.sw * (g.kw - 1 - tj)) * cout;
                }
                cp_async16(smem_addr(&bs[stage][kl * BLD + s % (BN / 8) * 8]), src, okf ? 16 : 0);
                continue;
            }
            bool okb = bok[i] && kok;
            cp_async16(smem_addr(&bs[stage][((tid + 256 * i) >> 2) * IG_LD + seg]), okb ? brow[i] + k : w, okb ? 16 : 0);
        }
        cp_async_commit();
    };

    auto land = [&](int stage, int tile)
    {
        if (FLIPPED || !in.count) return;
        PartAt a = part_at(in, (tile * IG_BK + seg) % g.cin);
        if (!a.map) return;
        for (int i = 0; i < 2; i++)
            if (landed >> (stage * 2 + i) & 1) bn_apply_in_place(&as[stage][((tid + 256 * i) >> 2) * IG_LD + seg], a.map, a.c, a.channels);
    };

    float acc[2][NT][4];
    warp_tile_zero<NT>(acc);

    auto compute = [&](int stage)
    {
        const u16* sa = as[stage];
        const u16* sb = bs[stage];
        for (int kk = 0; kk < IG_BK; kk += 16)
        {
            // A: matrices (rows 0-7 | 8-15) × (k 0-7 | 8-15) in a0..a3 order; B: two n8 tiles per x4,
            // each as (k 0-7, k 8-15).
            unsigned a[2][4], b[NT / 2][4];
            for (int i = 0; i < 2; i++)
                ldmatrix_x4(a[i], smem_addr(sa + (wm * 32 + i * 16 + (lane & 15)) * IG_LD + kk + (lane >> 4) * 8));
            for (int j = 0; j < NT / 2; j++)
                if (FLIPPED)
                    ldmatrix_x4_trans(b[j], smem_addr(sb + (kk + ((lane >> 3) & 1) * 8 + (lane & 7)) * BLD + wn * 8 * NT + j * 16 + (lane >> 4) * 8));
                else
                    ldmatrix_x4(b[j], smem_addr(sb + (wn * 8 * NT + j * 16 + (lane >> 4) * 8 + (lane & 7)) * IG_LD + kk + ((lane >> 3) & 1) * 8));
            warp_tile_mma<NT>(acc, a, b);
        }
    };
    two_stage_pipeline((k_total + IG_BK - 1) / IG_BK, load, land, compute);

    // Thread (g = lane / 4, q = lane % 4) holds rows g and g + 8, columns 2q and 2q + 1 of each tile:
    // 4 output rows, whose places in y (OutMap) are worked out once. With e.partial (BatchNorm's batch
    // sums, see above) it also adds up the values it stores, as stored (rounded to float16):
    // s[0..1] = Σy and q[0..1] = Σy² of its two columns.
    i64 ypix[2][2]; // the pixel's index in y, or -1
    for (int i = 0; i < 2; i++)
        for (int half = 0; half < 2; half++)
        {
            int row = m0 + wm * 32 + i * 16 + half * 8 + (lane >> 2);
            int mm = row < m_total ? row : 0, n = mm / hw, pix = mm - n * hw, oi = pix / g.wo, oj = pix - oi * g.wo;
            ypix[i][half] = row < m_total ? ((i64)n * om.h + om.oh + om.sh * oi) * om.w + om.ow + om.sw * oj : -1;
        }
    for (int j = 0; j < NT; j++)
    {
        int col = n0 + wn * 8 * NT + j * 8 + (lane & 3) * 2;
        float s[2] = {0.0f, 0.0f}, q[2] = {0.0f, 0.0f};
        // The column's tensor, its channels and place in it, and whether to add (OutParts).
        u16* yp = y;
        int ych = cout, ycol = col, yadd = om.add;
        if (FLIPPED && op.count)
        {
            yp = op.y[0], ych = op.channels[0], yadd = op.add[0];
            for (int t = 1; t < MAX_PARTS; t++)
                if (t < op.count && ycol >= ych) ycol -= ych, yp = op.y[t], ych = op.channels[t], yadd = op.add[t];
        }
        for (int i = 0; i < 2; i++)
            for (int half = 0; half < 2; half++)
            {
                if (col >= cout || ypix[i][half] < 0 || !yp) continue;
                u16* out = yp + ypix[i][half] * ych + ycol;
                bool two = col + 1 < cout; // always for an even cout (and within one part: theirs are even)
                float a0 = acc[i][j][2 * half], a1 = acc[i][j][2 * half + 1];
                if (bias)
                {
                    a0 += h2f(bias[col]);
                    if (two) a1 += h2f(bias[col + 1]);
                }
                if (yadd)
                {
                    a0 += h2f(out[0]);
                    if (two) a1 += h2f(out[1]);
                }
                unsigned short h0 = f2h(a0), h1 = f2h(a1);
                if ((ych & 1) == 0) *(unsigned*)out = (unsigned)h0 | ((unsigned)h1 << 16); // 4-byte aligned pairs
                else
                {
                    out[0] = h0;
                    if (two) out[1] = h1;
                }
                float v0 = h2f(h0), v1 = two ? h2f(h1) : 0.0f;
                s[0] += v0; q[0] += v0 * v0;
                s[1] += v1; q[1] += v1 * v1;
            }
        if (e.partial) epilogue_sums_warp(s, q, lane, wm, wn * 8 * NT + j * 8, (float*)as[0], 16 * NT);
    }
    if (e.partial) epilogue_sums_block((float*)as[0], e, p, n0, cout, 16 * NT, m_total);
#endif
}

// The weight gradient: gW[co, k] = Σ_m gy[m, co]·A[m, k], A gathered from x as in the forward.
// Here the GEMM's rows are co, its columns k and its reduction runs over m (all pixels of the
// batch), split into slices (p.z) whose float32 partials land in partial[z][co][k]; the slices
// are added in the same launch, in slice order (deterministic), by two levels of "last block
// reduces" (wgrad_slices_total). Both operands sit in shared memory with m as
// the row (gy[m][co] and A[m][k] as loaded), and ldmatrix .trans turns 8 × 8 blocks of them into
// the row-major A and column-major B fragments that mma wants. WM warps along co (4: a 128 × 128
// tile; 2: 64 × 256, for layers with at most 64 output channels), 8 / WM along k; rows are padded
// by 8 halves, which keeps an ldmatrix's 8 rows on distinct banks.
#define WG_BK 32

// How the slices are added up into gw [cout, kh, kw, cin], from partials over the kernel's
// k = (ki, kj, c) with g.cin ≥ cin channels (the stem's padding is dropped on the way). The last
// slice of each group of `group` adds the group's slices into the group's first, and the last
// group's adds the groups: tickets holds ⌈slices / group⌉ counters per (co, k) tile, then one per
// tile.
struct SliceTotals
{
    u32* tickets;
    int group, cin;
};

// Slices first, first + step, ... (count of them) of partial[z][co][k] added in order over the
// block's co_t × k_t tile: into slice `first` while groups remain, else into gw.
template <typename T>
__device__ __forceinline__ void wgrad_slices_total(float* partial, T* gw, const SliceTotals& o, int first, int step, int count, bool to_gw,
    int co0, int k0, int co_t, int k_t, int cout, int k_total, int cp)
{
    i64 slice = (i64)cout * k_total;
    for (int e = threadIdx.x; e < co_t * k_t; e += blockDim.x)
    {
        int co = co0 + e / k_t, k = k0 + e % k_t;
        if (co >= cout || k >= k_total) continue;
        float* p = partial + (i64)co * k_total + k;
        float s = 0.0f;
        for (int z = 0; z < count; z++) s += ld_cg(p + (i64)(first + z * step) * slice);
        if (!to_gw) { p[(i64)first * slice] = s; continue; }
        int tap = k / cp, c = k - tap * cp;
        if (c < o.cin) st(gw, ((i64)co * (k_total / cp) + tap) * o.cin + c, s);
    }
}

// The weight gradient's shared memory in halves: two stages of gy's WG_BK rows of CO_T + 8, then
// two of A's WG_BK rows of K_T + 8.
template <int WM>
__device__ constexpr int wgrad_smem_halves() { return 2 * WG_BK * (32 * WM + 8) + 2 * WG_BK * (64 * (8 / WM) + 8); }

// p: the tile (x along co, y along k) and slice (z); smem: wgrad_smem_halves, 128-byte aligned;
// with bn.coef, gy as BnGrad says; x_channels and in (x from XParts) as for the forward; P = 1:
// in is x itself with its map or none, no concatenation (the launch with both gradients).
template <int WM, typename T, int P = MAX_PARTS>
__device__ void conv_implicit_wgrad(const u16* x, const u16* gy, float* partial, T* gw, SliceTotals o, int m_total, int cout, int k_total, int m_per_split, ConvGeom g,
    Place p, u16* smem, BnGrad bn, int x_channels = 0, XParts in = XParts{})
{
#if __CUDA_ARCH__ >= 800
    constexpr int CO_T = 32 * WM, K_T = 64 * (8 / WM), GLD = CO_T + 8, ALD = K_T + 8;
    constexpr int GSEGS = CO_T / 64, ASEGS = K_T / 64; // 16-byte segments per thread per stage
    auto gs = (u16(*)[WG_BK * GLD])smem;
    auto as = (u16(*)[WG_BK * ALD])(smem + 2 * WG_BK * GLD);
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    int wm = warp % WM, wn = warp / WM;
    int co0 = p.x * CO_T, k0 = p.y * K_T, xc = x_channels > 0 ? x_channels : g.cin;
    int m_begin = p.z * m_per_split, m_end = imin(m_total, m_begin + m_per_split);
    int hw = g.ho * g.wo;

    // Thread segment s = tid + 256·i: row s / (width / 8) of the 32 m rows, columns (s % (width / 8))·8
    // ... + 7 of the co (for gy) or k (for A) columns; the column is the same for all of a thread's
    // segments, so its k decomposition is worked out once.
    int gcol = (tid % (CO_T / 8)) * 8, acol = (tid % (K_T / 8)) * 8, kcol = k0 + acol, cocol = co0 + gcol;
    bool kok = kcol < k_total, cok = cocol < cout;
    int c = 0, ki = 0, kj = 0;
    if (kok)
    {
        c = kcol % g.cin;
        int kk = kcol / g.cin;
        kj = kk % g.kw;
        ki = kk / g.kw;
    }
    unsigned landed = 0; // bit stage·ASEGS + i: A's segment i of that stage holds pixels of x
    auto load = [&](int stage, int tile)
    {
        int mt = m_begin + tile * WG_BK;
        for (int i = 0; i < GSEGS; i++)
        {
            int r = (tid + 256 * i) / (CO_T / 8), m = mt + r;
            bool ok = m < m_end && cok;
            if (bn.coef) bn_grad_segment(gy, bn, (i64)m * cout + cocol, cocol, ok, &gs[stage][r * GLD + gcol]);
            else cp_async16(smem_addr(&gs[stage][r * GLD + gcol]), ok ? gy + (i64)m * cout + cocol : gy, ok ? 16 : 0);
        }
        for (int i = 0; i < ASEGS; i++)
        {
            int r = (tid + 256 * i) / (K_T / 8), m = mt + r;
            bool mok = m < m_end;
            int mm = mok ? m : 0, n = mm / hw, pix = mm - n * hw, oh = pix / g.wo, ow = pix - oh * g.wo;
            int ih = oh * g.sh - g.ph + ki, iw = ow * g.sw - g.pw + kj;
            bool ok = mok && kok && ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
            unsigned bit = 1u << (stage * ASEGS + i);
            landed = ok ? landed | bit : landed & ~bit;
            if (xc < g.cin) narrow_segment(ok ? x + (((i64)n * g.h + ih) * g.w + iw) * xc + c : x, c, xc, ok, &as[stage][r * ALD + acol]);
            else
            {
                // The thread's channels' part (the same in every tile: worked out where used, not kept).
                PartAt a = P == 1 ? PartAt{x, in.map[0], g.cin, c} : in.count ? part_at<P>(in, c) : PartAt{x, nullptr, g.cin, c};
                cp_async16(smem_addr(&as[stage][r * ALD + acol]), ok ? a.x + (((i64)n * g.h + ih) * g.w + iw) * a.channels + a.c : x, ok ? 16 : 0);
            }
        }
        cp_async_commit();
    };

    auto land = [&](int stage, int)
    {
        if (P == 1 ? !in.map[0] : !in.count) return;
        PartAt a = P == 1 ? PartAt{x, in.map[0], g.cin, c} : part_at<P>(in, c);
        if (!a.map) return;
        for (int i = 0; i < ASEGS; i++)
            if (landed >> (stage * ASEGS + i) & 1) bn_apply_in_place(&as[stage][((tid + 256 * i) / (K_T / 8)) * ALD + acol], a.map, a.c, a.channels);
    };

    float acc[2][8][4];
    warp_tile_zero<8>(acc);

    auto compute = [&](int stage)
    {
        const u16* sg = gs[stage];
        const u16* sa = as[stage];
        for (int kk = 0; kk < WG_BK; kk += 16)
        {
            // A (co × m) from gy[m][co]: matrices (co 0-7 | 8-15) × (m 0-7 | 8-15) in a0..a3 order.
            // B (m × k) from A[m][k]: per x4 two n8 tiles, each as (m 0-7, m 8-15).
            unsigned a[2][4], b[4][4];
            for (int i = 0; i < 2; i++)
                ldmatrix_x4_trans(a[i], smem_addr(sg + (kk + ((lane >> 4) & 1) * 8 + (lane & 7)) * GLD + wm * 32 + i * 16 + ((lane >> 3) & 1) * 8));
            for (int j = 0; j < 4; j++)
                ldmatrix_x4_trans(b[j], smem_addr(sa + (kk + ((lane >> 3) & 1) * 8 + (lane & 7)) * ALD + wn * 64 + j * 16 + (lane >> 4) * 8));
            warp_tile_mma<8>(acc, a, b);
        }
    };
    two_stage_pipeline(m_end > m_begin ? (m_end - m_begin + WG_BK - 1) / WG_BK : 0, load, land, compute);

    float* out = partial + (i64)p.z * cout * k_total;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 8; j++)
        {
            int row = co0 + wm * 32 + i * 16 + (lane >> 2), kc = k0 + wn * 64 + j * 8 + (lane & 3) * 2;
            if (kc >= k_total) continue; // k_total % 8 == 0: kc + 1 < k_total as well
            if (row < cout) { out[(i64)row * k_total + kc] = acc[i][j][0]; out[(i64)row * k_total + kc + 1] = acc[i][j][1]; }
            if (row + 8 < cout) { out[(i64)(row + 8) * k_total + kc] = acc[i][j][2]; out[(i64)(row + 8) * k_total + kc + 1] = acc[i][j][3]; }
        }

    int tiles = p.nx * p.ny, tile = p.y * p.nx + p.x, slices = p.nz;
    int groups = (slices + o.group - 1) / o.group, gi = p.z / o.group, first = gi * o.group;
    if (!last_to_arrive(o.tickets + (i64)tile * groups + gi, imin(o.group, slices - first))) return;
    wgrad_slices_total(partial, gw, o, first, 1, imin(o.group, slices - first), groups == 1, co0, k0, CO_T, K_T, cout, k_total, g.cin);
    if (groups == 1 || !last_to_arrive(o.tickets + (i64)tiles * groups + tile, groups)) return;
    wgrad_slices_total(partial, gw, o, 0, o.group, groups, true, co0, k0, CO_T, K_T, cout, k_total, g.cin);
#endif
}
