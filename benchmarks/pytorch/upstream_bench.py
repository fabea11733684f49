#!/usr/bin/env python3
"""Times upstream YOLOv5's own training step, the way its train.py runs it, on the same synthetic
batch as `yolocore bench` and bench.py: upstream's Model (from its models/*.yaml), ComputeLoss,
smart_optimizer (SGD, its three groups), GradScaler + autocast, clip at norm 10, ModelEMA;
channels_last with --channels-last. Upstream's source is imported from --yolov5 (a checkout of
ultralytics/yolov5 at v7.0); nothing of it is in this repository. Prints one JSON object with --json.
    python3 benchmarks/pytorch/upstream_bench.py --yolov5 DIR --device 0 --cfg yolov5s --batch-size 64 --img 640 --channels-last --json
"""
import contextlib, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_setup import parse, synthetic_batch  # noqa: E402

s = parse(lambda p: p.add_argument("--yolov5", required=True))
a = s.args
gpu, dev, cfg, batch, img, warmup, steps, amp, fmt = s.gpu, s.dev, s.cfg, s.batch, s.img, s.warmup, s.steps, s.amp, s.fmt
sys.path.insert(0, os.path.abspath(a.yolov5))
os.environ.setdefault("YOLOV5_VERBOSE", "False")
import yaml  # noqa: E402
from models.yolo import Model  # noqa: E402
from utils.loss import ComputeLoss  # noqa: E402
from utils.torch_utils import ModelEMA, smart_optimizer  # noqa: E402

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

# The synthetic batch of bench.py and `yolocore bench`.
images, targets = synthetic_batch(s)


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
