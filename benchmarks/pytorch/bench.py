#!/usr/bin/env python3
"""Times YOLOv5 training steps in PyTorch exactly as `yolocore bench` times YoloCore's: synthetic
uint8 images and 4 random boxes per image, forward, loss (float32), scaled backward, unscale,
clip at norm 10, SGD (nesterov, YOLOv5's three groups), EMA. Eager NCHW, or --channels-last;
AMP on CUDA unless --no-amp. Prints a line, or one JSON object with --json."""
import contextlib, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from bench_setup import parse, synthetic_batch  # noqa: E402
from yolov5_torch import Ema, Loss, Model, param_groups  # noqa: E402

s = parse()
a = s.args
gpu, dev, cfg, batch, img, warmup, steps, amp, fmt = s.gpu, s.dev, s.cfg, s.batch, s.img, s.warmup, s.steps, s.amp, s.fmt
torch.manual_seed(a.seed)
if not gpu:
    torch.set_num_threads(os.cpu_count())

model = Model(cfg, a.nc).to(dev).to(memory_format=fmt).train()
ema = Ema(model)
accumulate = max(round(64 / batch), 1)
opt = param_groups(model, 0.01, 0.937, 0.0005 * batch * accumulate / 64)
loss_fn = Loss(model.model[-1], a.nc, img)
scaler = (torch.amp.GradScaler("cuda", enabled=amp) if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler")
          else torch.cuda.amp.GradScaler(enabled=amp))
images, targets = synthetic_batch(s)


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
