"""A PyTorch implementation of the YOLOv5 (v7.0) architecture, loss and training step, written for
YoloCore's side-by-side benchmark from the architecture's description (the same layer table as
src/YoloCore.Nn/Yolo/Configs/*.yaml), so both engines do exactly the same work."""
import math

import torch
import torch.nn as nn

SCALES = {"yolov5n": (0.33, 0.25), "yolov5s": (0.33, 0.50), "yolov5m": (0.67, 0.75), "yolov5l": (1.0, 1.0), "yolov5x": (1.33, 1.25)}
ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
# [from, repeats, module, args] as in the YAML configs.
LAYERS = [
    [-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]], [-1, 1, "Conv", [256, 3, 2]],
    [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]], [-1, 9, "C3", [512]], [-1, 1, "Conv", [1024, 3, 2]],
    [-1, 3, "C3", [1024]], [-1, 1, "SPPF", [1024, 5]],
    [-1, 1, "Conv", [512, 1, 1]], [-1, 1, "Upsample", [2]], [[-1, 6], 1, "Concat", []], [-1, 3, "C3", [512, False]],
    [-1, 1, "Conv", [256, 1, 1]], [-1, 1, "Upsample", [2]], [[-1, 4], 1, "Concat", []], [-1, 3, "C3", [256, False]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 14], 1, "Concat", []], [-1, 3, "C3", [512, False]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", []], [-1, 3, "C3", [1024, False]],
    [[17, 20, 23], 1, "Detect", []],
]


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1, p=None):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, e=0.5):
        super().__init__()
        c = int(c2 * e)
        self.cv1, self.cv2 = Conv(c1, c, 1, 1), Conv(c, c2, 3, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        c = int(c2 * 0.5)
        self.cv1, self.cv2, self.cv3 = Conv(c1, c, 1, 1), Conv(c1, c, 1, 1), Conv(2 * c, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c, c, shortcut, 1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c, 1, 1), Conv(c * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class Detect(nn.Module):
    def __init__(self, nc, ch, strides):
        super().__init__()
        self.nc, self.no, self.nl, self.na = nc, nc + 5, len(ANCHORS), len(ANCHORS[0]) // 2
        a = torch.tensor(ANCHORS, dtype=torch.float32).view(self.nl, -1, 2)
        self.register_buffer("anchors", a / torch.tensor(strides).view(-1, 1, 1))
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)
        for mi, s in zip(self.m, strides):  # objectness and class priors
            b = mi.bias.view(self.na, -1)
            b.data[:, 4] += math.log(8 / (640 / s) ** 2)
            b.data[:, 5:] += math.log(0.6 / (nc - 0.99999))

    def forward(self, xs):
        out = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            bs, _, ny, nx = x.shape
            out.append(x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        return out


class Model(nn.Module):
    def __init__(self, cfg="yolov5s", nc=80):
        super().__init__()
        gd, gw = SCALES[cfg]
        ch, layers, self.froms, self.save = [3], [], [], set()
        for i, (f, n, m, args) in enumerate(LAYERS):
            n = max(round(n * gd), 1) if n > 1 else n
            width = lambda c: math.ceil(c * gw / 8) * 8
            c1 = ch[f] if isinstance(f, int) else None
            if m == "Conv":
                c2 = width(args[0]); layer = Conv(c1, c2, *args[1:])
            elif m == "C3":
                c2 = width(args[0]); layer = C3(c1, c2, n, *args[1:])
            elif m == "SPPF":
                c2 = width(args[0]); layer = SPPF(c1, c2, args[1])
            elif m == "Upsample":
                c2 = c1; layer = nn.Upsample(None, args[0], "nearest")
            elif m == "Concat":
                c2 = sum(ch[x] for x in f); layer = None
            else:
                c2 = 0; layer = Detect(nc, [ch[x] for x in f], [8, 16, 32])
            layers.append(layer if layer is not None else nn.Identity())
            self.froms.append(f)
            self.save.update(x % i for x in ([f] if isinstance(f, int) else f) if x != -1)
            ch = [c2] if i == 0 else ch + [c2]
            if i == 0: ch = [c2]
        self.model = nn.ModuleList(layers)
        self.kinds = [m for _, _, m, _ in LAYERS]

    def forward(self, x):
        y = []
        for m, f, kind in zip(self.model, self.froms, self.kinds):
            if f != -1:
                x = y[f] if isinstance(f, int) else [x if j == -1 else y[j] for j in f]
            x = torch.cat(x, 1) if kind == "Concat" else m(x)
            y.append(x if len(y) in self.save else None)
        return x


def bbox_ciou(b1, b2, eps=1e-7):
    (x1, y1, w1, h1), (x2, y2, w2, h2) = b1.chunk(4, -1), b2.chunk(4, -1)
    b1x1, b1x2, b1y1, b1y2 = x1 - w1 / 2, x1 + w1 / 2, y1 - h1 / 2, y1 + h1 / 2
    b2x1, b2x2, b2y1, b2y2 = x2 - w2 / 2, x2 + w2 / 2, y2 - h2 / 2, y2 + h2 / 2
    inter = (torch.min(b1x2, b2x2) - torch.max(b1x1, b2x1)).clamp(0) * (torch.min(b1y2, b2y2) - torch.max(b1y1, b2y1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(b1x2, b2x2) - torch.min(b1x1, b2x1)
    chh = torch.max(b1y2, b2y2) - torch.min(b1y1, b2y1)
    c2 = cw ** 2 + chh ** 2 + eps
    rho2 = ((b2x1 + b2x2 - b1x1 - b1x2) ** 2 + (b2y1 + b2y2 - b1y1 - b1y2) ** 2) / 4
    v = (4 / math.pi ** 2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


class Loss:
    """YOLOv5 v7.0's loss: CIoU box loss, objectness against the detached IoU, class BCE."""

    def __init__(self, detect, nc, img, box=0.05, cls=0.5, obj=1.0, anchor_t=4.0):
        nl = detect.nl
        self.box, self.cls, self.obj = box * 3 / nl, cls * nc / 80 * 3 / nl, obj * (img / 640) ** 2 * 3 / nl
        self.detect, self.nc, self.anchor_t, self.balance = detect, nc, anchor_t, [4.0, 1.0, 0.4]
        self.bce = nn.BCEWithLogitsLoss()

    def build_targets(self, p, targets):
        na, nt = self.detect.na, targets.shape[0]
        tcls, tbox, indices, anch = [], [], [], []
        gain = torch.ones(7, device=targets.device)
        ai = torch.arange(na, device=targets.device).float().view(na, 1).repeat(1, nt)
        targets = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)
        g = 0.5
        off = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], device=targets.device).float() * g
        for i in range(self.detect.nl):
            anchors, shape = self.detect.anchors[i], p[i].shape
            gain[2:6] = torch.tensor(shape)[[3, 2, 3, 2]]
            t = targets * gain
            r = t[..., 4:6] / anchors[:, None]
            t = t[torch.max(r, 1 / r).max(2)[0] < self.anchor_t]
            gxy = t[:, 2:4]
            gxi = gain[[2, 3]] - gxy
            j, k = ((gxy % 1 < g) & (gxy > 1)).T
            l, m = ((gxi % 1 < g) & (gxi > 1)).T
            j = torch.stack((torch.ones_like(j), j, k, l, m))
            t = t.repeat((5, 1, 1))[j]
            offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
            bc, gxy, gwh, a = t.chunk(4, 1)
            a, (b, c) = a.long().view(-1), bc.long().T
            gij = (gxy - offsets).long()
            gi, gj = gij.T
            indices.append((b, a, gj.clamp_(0, shape[2] - 1), gi.clamp_(0, shape[3] - 1)))
            tbox.append(torch.cat((gxy - gij, gwh), 1))
            anch.append(anchors[a])
            tcls.append(c)
        return tcls, tbox, indices, anch

    def __call__(self, p, targets):
        lcls = torch.zeros(1, device=targets.device)
        lbox, lobj = lcls.clone(), lcls.clone()
        tcls, tbox, indices, anchors = self.build_targets(p, targets)
        for i, pi in enumerate(p):
            b, a, gj, gi = indices[i]
            tobj = torch.zeros(pi.shape[:4], dtype=pi.dtype, device=pi.device)
            n = b.shape[0]
            if n:
                pxy, pwh, _, pcls = pi[b, a, gj, gi].split((2, 2, 1, self.nc), 1)
                pbox = torch.cat((pxy.sigmoid() * 2 - 0.5, (pwh.sigmoid() * 2) ** 2 * anchors[i]), 1)
                iou = bbox_ciou(pbox, tbox[i]).squeeze()
                lbox += (1.0 - iou).mean()
                tobj[b, a, gj, gi] = iou.detach().clamp(0).type(tobj.dtype)
                if self.nc > 1:
                    t = torch.full_like(pcls, 0.0)
                    t[range(n), tcls[i]] = 1.0
                    lcls += self.bce(pcls, t)
            lobj += self.bce(pi[..., 4], tobj) * self.balance[i]
        bs = p[0].shape[0]
        return (lbox * self.box + lobj * self.obj + lcls * self.cls) * bs


class Ema:
    """YOLOv5's ModelEMA over every floating state-dict entry."""

    def __init__(self, model, decay=0.9999, tau=2000):
        import copy
        self.ema, self.updates, self.decay, self.tau = copy.deepcopy(model).eval(), 0, decay, tau
        for p in self.ema.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.ema.state_dict().items():
            if v.dtype.is_floating_point:
                v *= d
                v += (1 - d) * msd[k].detach()


def param_groups(model, lr, momentum, decay):
    g = [], [], []
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if name == "bias": g[2].append(p)
            elif name == "weight" and isinstance(m, nn.BatchNorm2d): g[1].append(p)
            else: g[0].append(p)
    opt = torch.optim.SGD(g[2], lr=lr, momentum=momentum, nesterov=True)
    opt.add_param_group({"params": g[0], "weight_decay": decay})
    opt.add_param_group({"params": g[1], "weight_decay": 0.0})
    return opt
