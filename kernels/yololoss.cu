// yololoss.cu: the fused YOLOv5 loss over every detection level (see IYoloLoss in src/YoloCore/Extensions/YoloLoss.cs),
// in one launch forward and two backward, each level's work on its own blocks of a 1-D grid of
// levels × blocks. The heads (and their gradients) are T, float32 or the float16 the head
// convolutions wrote; everything else float32.
// Per target k: the predicted box from its head row (xy = 2σ - 0.5, wh = (2σ)²·anchor), its IoU
// with the target (iou_kind: an IouKind, eps 1e-7, as YOLOv5 v7.0's bbox_iou) and
// the class BCE; per row: the objectness BCE. Gradients split min/max ties in half and pass
// clamp(0) at 0, as autograd does; CIoU's alpha is constant. Mirrors CpuBackend's BoxIouMath.
#include "common.cuh"
#include "enums.cuh"
#include "bce.cuh"

struct LossTerms
{
    int classes, iou_kind;
    float cp, cn, cls_pw, obj_pw, gr;
};

__device__ __forceinline__ float dmin(float a, float c) { return a < c ? 1.0f : (a == c ? 0.5f : 0.0f); }
__device__ __forceinline__ float dmax(float a, float c) { return a > c ? 1.0f : (a == c ? 0.5f : 0.0f); }

// Value of the IoU variant; when grad is not null, also its gradient by (x1, y1, w1, h1) of b.
__device__ float box_iou(const float* b, const float* t, int kind, float* grad)
{
    const float eps = 1e-7f, k4pi2 = 4.0f / (3.14159265358979f * 3.14159265358979f);
    float x1 = b[0], y1 = b[1], w1 = b[2], h1 = b[3], x2 = t[0], y2 = t[1], w2 = t[2], h2 = t[3];
    float b1x1 = x1 - w1 / 2, b1x2 = x1 + w1 / 2, b1y1 = y1 - h1 / 2, b1y2 = y1 + h1 / 2;
    float b2x1 = x2 - w2 / 2, b2x2 = x2 + w2 / 2, b2y1 = y2 - h2 / 2, b2y2 = y2 + h2 / 2;
    float iw = fminf(b1x2, b2x2) - fmaxf(b1x1, b2x1), ih = fminf(b1y2, b2y2) - fmaxf(b1y1, b2y1);
    float iwc = fmaxf(iw, 0.0f), ihc = fmaxf(ih, 0.0f);
    float inter = iwc * ihc, uni = w1 * h1 + w2 * h2 - inter + eps, iou = inter / uni;
    float cw = fmaxf(b1x2, b2x2) - fminf(b1x1, b2x1), ch = fmaxf(b1y2, b2y2) - fminf(b1y1, b2y1);
    float c2 = cw * cw + ch * ch + eps;
    float dxs = b2x1 + b2x2 - b1x1 - b1x2, dys = b2y1 + b2y2 - b1y1 - b1y2, rho2 = (dxs * dxs + dys * dys) / 4;
    float datan = atanf(w2 / h2) - atanf(w1 / h1), v = k4pi2 * datan * datan;
    float carea = cw * ch + eps;
    float alpha = v / (v - iou + (1.0f + eps));
    float value = kind == Iou ? iou : kind == GIoU ? iou - (carea - uni) / carea : kind == DIoU ? iou - rho2 / c2 : iou - (rho2 / c2 + v * alpha);
    if (!grad) return value;
    const float dl[4] = {1, 0, -0.5f, 0}, dr[4] = {1, 0, 0.5f, 0}, dt[4] = {0, 1, 0, -0.5f}, db[4] = {0, 1, 0, 0.5f};
    for (int j = 0; j < 4; j++)
    {
        float diw = (iw >= 0 ? 1.0f : 0.0f) * (dmin(b1x2, b2x2) * dr[j] - dmax(b1x1, b2x1) * dl[j]);
        float dih = (ih >= 0 ? 1.0f : 0.0f) * (dmin(b1y2, b2y2) * db[j] - dmax(b1y1, b2y1) * dt[j]);
        float dinter = ihc * diw + iwc * dih;
        float darea = j == 2 ? h1 : (j == 3 ? w1 : 0.0f);
        float duni = darea - dinter;
        float d = (dinter * uni - inter * duni) / (uni * uni);
        if (kind != Iou)
        {
            float dcw = dmax(b1x2, b2x2) * dr[j] - dmin(b1x1, b2x1) * dl[j];
            float dch = dmax(b1y2, b2y2) * db[j] - dmin(b1y1, b2y1) * dt[j];
            if (kind == GIoU)
            {
                float dcarea = ch * dcw + cw * dch;
                d += (duni * carea - uni * dcarea) / (carea * carea);
            }
            else
            {
                float dc2 = 2 * cw * dcw + 2 * ch * dch;
                float drho2 = (2 * dxs * (-(dl[j] + dr[j])) + 2 * dys * (-(dt[j] + db[j]))) / 4;
                d -= (drho2 * c2 - rho2 * dc2) / (c2 * c2);
                if (kind == CIoU)
                {
                    float r = w1 / h1, dratio = j == 2 ? 1.0f / h1 : (j == 3 ? -w1 / (h1 * h1) : 0.0f);
                    d -= alpha * k4pi2 * 2 * datan * (-(1.0f / (1.0f + r * r)) * dratio);
                }
            }
        }
        grad[j] = d;
    }
    return value;
}

// The predicted box of a head row, and d(box)/d(raw outputs).
template <typename T>
__device__ __forceinline__ void predicted_box(const T* row, const float* anchor, float* box, float* dbox)
{
    for (int j = 0; j < 2; j++)
    {
        float s = 1.0f / (1.0f + expf(-ld(row, j)));
        box[j] = s * 2 - 0.5f;
        dbox[j] = 2 * s * (1 - s);
        float sw = 1.0f / (1.0f + expf(-ld(row, 2 + j))), a = anchor[j];
        box[2 + j] = (sw * 2) * (sw * 2) * a;
        dbox[2 + j] = 8 * sw * sw * (1 - sw) * a;
    }
}

// How many of the n targets are real (count: on the device, null for all); the rest pad
// fixed-capacity buffers, so that a captured step serves any number of targets up to n.
__device__ __forceinline__ int real_targets(const int* count, int n) { return count ? imin(imax(*count, 0), n) : n; }

// The levels of one launch (entry l of each table is level l), and blocks per level: the
// grid is count × blocks, block b of level l being blockIdx.x = l·blocks + b.
#define MAX_LEVELS 4
struct LossLevels
{
    int count, blocks;
    const void* head[MAX_LEVELS];
    void* ghead[MAX_LEVELS];
    const int* rows[MAX_LEVELS];
    const float* tbox[MAX_LEVELS];
    const float* anchors[MAX_LEVELS];
    const int* cls[MAX_LEVELS];
    const int* real[MAX_LEVELS]; // the count of real targets (or null)
    float* iou[MAX_LEVELS];
    i64 r[MAX_LEVELS];
    int n[MAX_LEVELS];
};

// Index i = this block's first item, stepping over the level's blocks, below n.
#define LEVEL_STRIDE(i, b, L, n) for (i64 i = (i64)(b) * blockDim.x + threadIdx.x; i < (n); i += (i64)(L).blocks * blockDim.x)

// One level's share of the three sums, on its blocks: per target its IoU, Σ (1 - IoU) and the
// class BCE; per row the objectness BCE against tobj = (1 - gr) + gr·clamp(iou, 0) of the row's
// last target (0 for rows no target is assigned to), added up as Σ_rows BCE(x, 0) plus, for each
// assigned row, BCE(x, tobj) - BCE(x, 0) from its last target's thread, so that no objectness
// targets are stored. s = (Σ (1 - IoU), Σ BCE(objectness), Σ BCE(class scores)).
template <typename T>
__device__ void level_sums(const LossLevels& L, int l, int b, int no, const LossTerms& t, float* s)
{
    const T* p = (const T*)L.head[l];
    const int* rows = L.rows[l];
    int n = L.n[l], real = real_targets(L.real[l], n);
    i64 r = L.r[l];
    LEVEL_STRIDE(i, b, L, r > n ? r : (i64)n)
    {
        if (i < r) s[1] += bce_value(ld(p, i * no + 4), 0.0f, t.obj_pw);
        if (i >= n) continue;
        int k = (int)i;
        if (k >= real)
        {
            L.iou[l][k] = 0.0f; // padding adds nothing to the sums
            continue;
        }
        const T* row = p + (i64)rows[k] * no;
        float box[4], dbox[4];
        predicted_box(row, L.anchors[l] + 2 * k, box, dbox);
        float v = box_iou(box, L.tbox[l] + 4 * k, t.iou_kind, 0);
        L.iou[l][k] = v;
        s[0] += 1.0f - v;
        if (t.classes > 1)
            for (int c = 0; c < t.classes; c++) s[2] += bce_value(ld(row, 5 + c), c == L.cls[l][k] ? t.cp : t.cn, t.cls_pw);
        bool last = true;
        for (int later = k + 1; later < real && last; later++) last = rows[later] != rows[k];
        if (!last) continue;
        float x = ld(row, 4);
        s[1] += bce_value(x, (1.0f - t.gr) + t.gr * fmaxf(v, 0.0f), t.obj_pw) - bce_value(x, 0.0f, t.obj_pw);
    }
}

// Every level's sums (level l's in v[3l .. 3l + 2]), added over the grid by its last block
// (grid_sum), which then writes total = Σ_l Σ_j sums[l, j]·step_weights[l, j] and items =
// (total, Σ_l sums[l, j]·weights[l, j] for j = box, obj, cls), in double.
template <typename T>
__device__ void yolo_loss_forward(LossLevels L, int no, LossTerms t, const float* weights, const float* step_weights, float* partial, u32* ticket,
    float* total, float* items)
{
    __shared__ float shared[256];
    float v[3 * MAX_LEVELS];
    for (int j = 0; j < 3 * MAX_LEVELS; j++) v[j] = 0.0f;
    int l = blockIdx.x / L.blocks;
    level_sums<T>(L, l, blockIdx.x - l * L.blocks, no, t, v + 3 * l);
    if (!grid_sum(v, partial, ticket, shared) || threadIdx.x != 0) return;
    double sum = 0.0, item[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < L.count; k++)
        for (int j = 0; j < 3; j++)
        {
            sum += (double)v[3 * k + j] * step_weights[3 * k + j];
            item[j] += (double)v[3 * k + j] * weights[3 * k + j];
        }
    *total = (float)sum;
    items[0] = (float)sum;
    for (int j = 0; j < 3; j++) items[1 + j] = (float)item[j];
}

// Level l's gradient of its sums: g_j = ∂loss/∂sums[l, j] = gtotal·step_weights[l, j].
__device__ __forceinline__ float level_grad(const float* gtotal, const float* step_weights, int l, int j) { return *gtotal * step_weights[3 * l + j]; }

// Writes all of every level's ghead as for rows no target is assigned to: the objectness column
// against 0, zeros elsewhere (yolo_targets_backward then stores the assigned rows' box,
// objectness and class entries).
template <typename T>
__device__ void yolo_obj_backward(LossLevels L, int no, float obj_pw, const float* step_weights, const float* gtotal)
{
    int l = blockIdx.x / L.blocks, b = blockIdx.x - l * L.blocks;
    const T* p = (const T*)L.head[l];
    T* gp = (T*)L.ghead[l];
    float g = level_grad(gtotal, step_weights, l, 1);
    LEVEL_STRIDE(i, b, L, L.r[l] * no)
    {
        i64 row = i / no;
        st(gp, i, i - row * no == 4 ? g * bce_grad(ld(p, i), 0.0f, obj_pw) : 0.0f);
    }
}

// Each row's box and class gradients from every target assigned to it, added in target order by
// the thread of the row's first target and stored once: no atomics, so the same sums every run
// (and a float16 gradient rounded once); and its objectness gradient against the tobj of its last
// target (iou: the forward's). ghead's other entries stay as yolo_obj_backward wrote them.
template <typename T>
__device__ void yolo_targets_backward(LossLevels L, int no, LossTerms t, const float* step_weights, const float* gtotal)
{
    int l = blockIdx.x / L.blocks, b = blockIdx.x - l * L.blocks;
    const T* p = (const T*)L.head[l];
    T* gp = (T*)L.ghead[l];
    const int* rows = L.rows[l];
    const float* iou = L.iou[l];
    float g[3] = {level_grad(gtotal, step_weights, l, 0), level_grad(gtotal, step_weights, l, 1), level_grad(gtotal, step_weights, l, 2)};
    int n = real_targets(L.real[l], L.n[l]);
    LEVEL_STRIDE(k, b, L, n)
    {
        int r = rows[k];
        bool first = true;
        for (int e = 0; e < (int)k && first; e++) first = rows[e] != r;
        if (!first) continue;
        const T* row = p + (i64)r * no;
        T* grow = gp + (i64)r * no;
        float gbox[4] = {0.0f, 0.0f, 0.0f, 0.0f}, last_iou = 0.0f;
        for (int j = (int)k; j < n; j++)
        {
            if (rows[j] != r) continue;
            float box[4], dbox[4], diou[4];
            predicted_box(row, L.anchors[l] + 2 * j, box, dbox);
            box_iou(box, L.tbox[l] + 4 * j, t.iou_kind, diou);
            for (int q = 0; q < 4; q++) gbox[q] += -g[0] * diou[q] * dbox[q];
            last_iou = iou[j];
        }
        for (int q = 0; q < 4; q++) st(grow, q, gbox[q]);
        st(grow, 4, g[1] * bce_grad(ld(row, 4), (1.0f - t.gr) + t.gr * fmaxf(last_iou, 0.0f), t.obj_pw));
        if (t.classes > 1)
            for (int c = 0; c < t.classes; c++)
            {
                float x = ld(row, 5 + c), s = 0.0f;
                for (int j = (int)k; j < n; j++)
                    if (rows[j] == r) s += g[2] * bce_grad(x, c == L.cls[l][j] ? t.cp : t.cn, t.cls_pw);
                st(grow, 5 + c, s);
            }
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) yolo_loss_forward_##S(LossLevels L, int no, LossTerms t, const float* weights, const float* step_weights, float* partial, u32* ticket, float* total, float* items) \
        { yolo_loss_forward<T>(L, no, t, weights, step_weights, partial, ticket, total, items); } \
    extern "C" __global__ void yolo_obj_backward_##S(LossLevels L, int no, float obj_pw, const float* step_weights, const float* gtotal) { yolo_obj_backward<T>(L, no, obj_pw, step_weights, gtotal); } \
    extern "C" __global__ void yolo_targets_backward_##S(LossLevels L, int no, LossTerms t, const float* step_weights, const float* gtotal) { yolo_targets_backward<T>(L, no, t, step_weights, gtotal); }
EXPORT_FLOAT_TYPES(EXPORT)
