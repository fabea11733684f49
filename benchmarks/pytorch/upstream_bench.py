#!/usr/bin/env python3
"""Times upstream YOLOv5's own training step, the way its train.py runs it, on the same synthetic
batch as `yolocore bench` and bench.py: upstream's Model (from its models/*.yaml), ComputeLoss,
smart_optimizer (SGD, its three groups), GradScaler + autocast, clip at norm 10, ModelEMA;
channels_last with --channels-last. Upstream's source is imported from --yolov5 (a checkout of
ultralytics/yolov5 at v7.0); nothing of it is in this repository. Prints one JSON object with --json.
    python3 benchmarks/pytorch/upstream_bench.py --yolov5 DIR --device 0 --cfg yolov5s --batch-size 64 --img 640 --channels-last --json
"""
import argparse, contextlib, json, os, sys, time

import torch

p = argparse.ArgumentParser()
p.add_argument("--yolov5", required=True)
p.add_argument("--cfg", default=None)
p.add_argument("--batch-size", type=int, default=None)
p.add_argument("--img", type=int, default=None)
p.add_argument("--device", default="cpu")
p.add_argument("--no-amp", action="store_true")
p.add_argument("--channels-last", action="store_true")
p.add_argument("--warmup", type=int, default=None)
p.add_argument("--steps", type=int, default=None)
p.add_argument("--nc", type=int, default=80)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--json", action="store_true")
a = p.parse_args()
sys.path.insert(0, os.path.abspath(a.yolov5))
os.environ.setdefault("YOLOV5_VERBOSE", "False")
import yaml  # noqa: E402
from models.yolo import Model  # noqa: E402
from utils.loss import ComputeLoss  # noqa: E402
from utils.torch_utils import ModelEMA, smart_optimizer  # noqa: E402

gpu = a.device != "cpu"
dev = torch.device(f"cuda:{a.device}" if gpu and a.device.isdigit() else a.device)
cfg, batch, img = a.cfg or ("yolov5s" if gpu else "yolov5n"), a.batch_size or (64 if gpu else 8), a.img or (640 if gpu else 320)
warmup, steps = a.warmup if a.warmup is not None else (5 if gpu else 1), a.steps or (20 if gpu else 3)
amp = gpu and not a.no_amp
torch.manual_seed(a.seed)

hyp = yaml.safe_load(open(os.path.join(a.yolov5, "data", "hyps", "hyp.scratch-low.yaml")))
with contextlib.redirect_stdout(sys.stderr):
    model = Model(os.path.join(a.yolov5, "models", f"{cfg}.yaml"), ch=3, nc=a.nc).to(dev)
nl = model.model[-1].nl  # train.py's loss gains for this model, class count and size
hyp["box"] *= 3 / nl
hyp["cls"] *= a.nc / 80 * 3 / nl
hyp["obj"] *= (img / 640) ** 2 * 3 / nl
model.nc, model.hyp = a.nc, hyp
if a.channels_last:
    model = model.to(memory_format=torch.channels_last)
accumulate = max(round(64 / batch), 1)
opt = smart_optimizer(model, "SGD", hyp["lr0"], hyp["momentum"], hyp["weight_decay"] * batch * accumulate / 64)
ema = ModelEMA(model)
scaler = torch.cuda.amp.GradScaler(enabled=amp)
compute_loss = ComputeLoss(model)

# The synthetic batch of bench.py: uint8 images, 4 random boxes per image.
g = torch.Generator().manual_seed(a.seed + 1)
images = torch.randint(0, 256, (batch, 3, img, img), dtype=torch.uint8, generator=g).to(dev)
rows = []
for b in range(batch):
    for _ in range(4):
        w, h = (0.05 + 0.45 * torch.rand(2, generator=g)).tolist()
        x, y = w / 2 + (1 - w) * torch.rand(1, generator=g).item(), h / 2 + (1 - h) * torch.rand(1, generator=g).item()
        rows.append([b, int(torch.randint(0, a.nc, (1,), generator=g)), x, y, w, h])
targets = torch.tensor(rows, device=dev)


def step():
    x = images.float() / 255
    if a.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.cuda.amp.autocast(amp):
        pred = model(x)
        loss, _ = compute_loss(pred, targets)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad()
    ema.update(model)


def sync():
    if gpu:
        torch.cuda.synchronize(dev)


for _ in range(warmup):
    step()
sync()
if gpu:
    torch.cuda.reset_peak_memory_stats(dev)
t = time.perf_counter()
for _ in range(steps):
    step()
sync()
ms = (time.perf_counter() - t) * 1000 / steps
peak = torch.cuda.max_memory_allocated(dev) / 2**20 if gpu else 0.0
report = {
    "engine": "yolov5-upstream", "torch": torch.__version__, "layout": "channels_last" if a.channels_last else "nchw", "cfg": cfg,
    "batch": batch, "img": img, "amp": amp, "device_name": torch.cuda.get_device_name(dev) if gpu else "CPU",
    "steps": steps, "step_ms": ms, "images_per_s": batch * 1000 / ms, "peak_memory_mib": peak, "phases_ms": {},
}
print(json.dumps(report) if a.json else f"upstream YOLOv5 {cfg} b{batch} {img}px {report['layout']}: {report['images_per_s']:.1f} images/s, {ms:.1f} ms/step")
