// yololosslevel.cu: the fused YOLOv5 loss of one level (see IYoloLossLevel in src/YoloCore/Extensions/YoloLossLevel.cs):
// the head (and its gradient) T, float32 or the float16 the head convolution wrote; everything else float32.
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

// The level's three sums in one pass and one launch: per target its IoU, Σ (1 - IoU) and the
// class BCE; per row the objectness BCE against tobj = (1 - gr) + gr·clamp(iou, 0) of the row's
// last target (0 for rows no target is assigned to), added up as Σ_rows BCE(x, 0) plus, for each
// assigned row, BCE(x, tobj) - BCE(x, 0) from its last target's thread, so that no objectness
// targets are stored. sums = (Σ (1 - IoU), Σ BCE(objectness), Σ BCE(class scores)).
template <typename T>
__device__ void yolo_level_forward(const T* p, const int* rows, const float* tbox, const float* anchors, const int* cls,
    const int* count, int n, i64 r, int no, LossTerms t, float* iou, float* partial, u32* ticket, float* sums)
{
    __shared__ float shared[256];
    int real = real_targets(count, n);
    float total[3] = {0.0f, 0.0f, 0.0f};
    GRID_STRIDE(i, r > n ? r : (i64)n)
    {
        if (i < r) total[1] += bce_value(ld(p, i * no + 4), 0.0f, t.obj_pw);
        if (i >= n) continue;
        int k = (int)i;
        if (k >= real)
        {
            iou[k] = 0.0f; // padding adds nothing to the sums
            continue;
        }
        const T* row = p + (i64)rows[k] * no;
        float box[4], dbox[4];
        predicted_box(row, anchors + 2 * k, box, dbox);
        float v = box_iou(box, tbox + 4 * k, t.iou_kind, 0);
        iou[k] = v;
        total[0] += 1.0f - v;
        if (t.classes > 1)
            for (int c = 0; c < t.classes; c++) total[2] += bce_value(ld(row, 5 + c), c == cls[k] ? t.cp : t.cn, t.cls_pw);
        bool last = true;
        for (int later = k + 1; later < real && last; later++) last = rows[later] != rows[k];
        if (!last) continue;
        float x = ld(row, 4);
        total[1] += bce_value(x, (1.0f - t.gr) + t.gr * fmaxf(v, 0.0f), t.obj_pw) - bce_value(x, 0.0f, t.obj_pw);
    }
    if (!grid_sum(total, partial, ticket, shared) || threadIdx.x != 0) return;
    for (int j = 0; j < 3; j++) sums[j] = total[j];
}

// g = (∂L/∂Σbox, ∂L/∂Σobj, ∂L/∂Σcls). Writes all of ghead as for a row no target is assigned to:
// the objectness column against 0, zeros elsewhere (yolo_targets_backward then stores the
// assigned rows' box, objectness and class entries).
template <typename T>
__device__ void yolo_obj_backward(const T* p, i64 r, int no, float obj_pw, const float* g, T* gp)
{
    GRID_STRIDE(i, r * no)
    {
        i64 row = i / no;
        st(gp, i, i - row * no == 4 ? g[1] * bce_grad(ld(p, i), 0.0f, obj_pw) : 0.0f);
    }
}

// Each row's box and class gradients from every target assigned to it, added in target order by
// the thread of the row's first target and stored once: no atomics, so the same sums every run
// (and a float16 gradient rounded once); and its objectness gradient against the tobj of its last
// target (iou: the forward's). ghead's other entries stay as yolo_obj_backward wrote them.
template <typename T>
__device__ void yolo_targets_backward(const T* p, const int* rows, const float* tbox, const float* anchors, const int* cls,
    const int* count, int n, int no, LossTerms t, const float* iou, const float* g, T* gp)
{
    n = real_targets(count, n);
    GRID_STRIDE(k, n)
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
            predicted_box(row, anchors + 2 * j, box, dbox);
            box_iou(box, tbox + 4 * j, t.iou_kind, diou);
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
                    if (rows[j] == r) s += g[2] * bce_grad(x, c == cls[j] ? t.cp : t.cn, t.cls_pw);
                st(grow, 5 + c, s);
            }
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) yolo_level_forward_##S(const T* p, const int* rows, const float* tbox, const float* anchors, const int* cls, const int* count, int n, i64 r, int no, LossTerms t, float* iou, float* partial, u32* ticket, float* sums) \
        { yolo_level_forward(p, rows, tbox, anchors, cls, count, n, r, no, t, iou, partial, ticket, sums); } \
    extern "C" __global__ void yolo_obj_backward_##S(const T* p, i64 r, int no, float obj_pw, const float* g, T* gp) { yolo_obj_backward(p, r, no, obj_pw, g, gp); } \
    extern "C" __global__ void yolo_targets_backward_##S(const T* p, const int* rows, const float* tbox, const float* anchors, const int* cls, const int* count, int n, int no, LossTerms t, const float* iou, const float* g, T* gp) \
        { yolo_targets_backward(p, rows, tbox, anchors, cls, count, n, no, t, iou, g, gp); }
EXPORT_FLOAT_TYPES(EXPORT)
