#!/usr/bin/env python3
"""Times YOLOv5 training steps in PyTorch exactly as `yolocore bench` times YoloCore's: synthetic
uint8 images and 4 random boxes per image, forward, loss (float32), scaled backward, unscale,
clip at norm 10, SGD (nesterov, YOLOv5's three groups), EMA. Eager NCHW, or --channels-last;
AMP on CUDA unless --no-amp. Prints a line, or one JSON object with --json."""
import argparse, contextlib, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from yolov5_torch import Ema, Loss, Model, param_groups  # noqa: E402

p = argparse.ArgumentParser()
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
gpu = a.device != "cpu"
dev = torch.device(f"cuda:{a.device}" if gpu and a.device.isdigit() else a.device)
cfg, batch, img = a.cfg or ("yolov5s" if gpu else "yolov5n"), a.batch_size or (64 if gpu else 8), a.img or (640 if gpu else 320)
warmup, steps = a.warmup if a.warmup is not None else (5 if gpu else 1), a.steps or (20 if gpu else 3)
amp = gpu and not a.no_amp
torch.manual_seed(a.seed)
if not gpu:
    torch.set_num_threads(os.cpu_count())
fmt = torch.channels_last if a.channels_last else torch.contiguous_format

model = Model(cfg, a.nc).to(dev).to(memory_format=fmt).train()
ema = Ema(model)
accumulate = max(round(64 / batch), 1)
opt = param_groups(model, 0.01, 0.937, 0.0005 * batch * accumulate / 64)
loss_fn = Loss(model.model[-1], a.nc, img)
scaler = (torch.amp.GradScaler("cuda", enabled=amp) if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler")
          else torch.cuda.amp.GradScaler(enabled=amp))
g = torch.Generator().manual_seed(a.seed + 1)
images = torch.randint(0, 256, (batch, 3, img, img), dtype=torch.uint8, generator=g).to(dev).contiguous(memory_format=fmt)
rows = []
for b in range(batch):
    for _ in range(4):
        w, h = 0.05 + 0.45 * torch.rand(1, generator=g).item(), 0.05 + 0.45 * torch.rand(1, generator=g).item()
        rows.append([b, torch.randint(0, a.nc, (1,), generator=g).item(), w / 2 + (1 - w) * torch.rand(1, generator=g).item(),
                     h / 2 + (1 - h) * torch.rand(1, generator=g).item(), w, h])
targets = torch.tensor(rows, device=dev)


def sync():
    if gpu: torch.cuda.synchronize(dev)


def step(phases=None):
    t = time.perf_counter()

    def mark(name):
        nonlocal t
        if phases is None: return
        sync()
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + (now - t) * 1e3
        t = now

    if phases is not None: sync(); t = time.perf_counter()
    x = images.float() / 255
    with (torch.autocast(device_type="cuda", dtype=torch.float16) if amp else contextlib.nullcontext()):
        pred = model(x)
    mark("forward")
    loss = loss_fn([pi.float() for pi in pred], targets)
    mark("loss")
    scaler.scale(loss).backward()
    mark("backward")
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad()
    mark("optimizer")
    ema.update(model)
    mark("ema")


for _ in range(warmup): step()
sync()
if gpu: torch.cuda.reset_peak_memory_stats(dev)
t0 = time.perf_counter()
for _ in range(steps): step()
sync()
step_ms = (time.perf_counter() - t0) * 1e3 / steps
peak = torch.cuda.max_memory_allocated(dev) / 2 ** 20 if gpu else float("nan")
phases = {}
for _ in range(steps): step(phases)
report = {"engine": "pytorch", "torch": torch.__version__, "layout": "channels_last" if a.channels_last else "nchw", "cfg": cfg,
          "batch": batch, "img": img, "device": str(dev), "device_name": torch.cuda.get_device_name(dev) if gpu else f"CPU ({os.cpu_count()} cores)",
          "amp": amp, "params_count": sum(p.numel() for p in model.parameters()), "steps": steps, "step_ms": step_ms,
          "images_per_s": batch * 1000 / step_ms, "peak_memory_mib": peak, "phases_ms": {k: v / steps for k, v in phases.items()}}
if a.json: print(json.dumps(report))
else: print(f"pytorch {report['torch']} {report['layout']}: {cfg} batch {batch} {img}px {report['device_name']} amp={amp}: "
            f"{report['images_per_s']:.1f} images/s, {step_ms:.1f} ms/step, peak {peak:.0f} MiB")
