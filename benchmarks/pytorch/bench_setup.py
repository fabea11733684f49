"""What bench.py and upstream_bench.py share with `yolocore bench`: the flags, their GPU/CPU
defaults, and the synthetic batch (uint8 images, 4 random boxes per image, from one seed)."""
import argparse
from types import SimpleNamespace

import torch


def parse(extra=None):
    """The common flags (plus `extra(parser)`), resolved into the settings of the run."""
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
    if extra:
        extra(p)
    a = p.parse_args()
    gpu = a.device != "cpu"
    return SimpleNamespace(
        args=a, gpu=gpu, nc=a.nc, seed=a.seed, json=a.json, channels_last=a.channels_last,
        dev=torch.device(f"cuda:{a.device}" if gpu and a.device.isdigit() else a.device),
        cfg=a.cfg or ("yolov5s" if gpu else "yolov5n"), batch=a.batch_size or (64 if gpu else 8),
        img=a.img or (640 if gpu else 320), warmup=a.warmup if a.warmup is not None else (5 if gpu else 1),
        steps=a.steps or (20 if gpu else 3), amp=gpu and not a.no_amp,
        fmt=torch.channels_last if a.channels_last else torch.contiguous_format)


def synthetic_batch(s):
    """(images uint8 NCHW on the device, targets (n, 6): image, class, x, y, w, h normalized)."""
    g = torch.Generator().manual_seed(s.seed + 1)
    images = torch.randint(0, 256, (s.batch, 3, s.img, s.img), dtype=torch.uint8, generator=g).to(s.dev).contiguous(memory_format=s.fmt)
    rows = []
    for b in range(s.batch):
        for _ in range(4):
            w, h = 0.05 + 0.45 * torch.rand(1, generator=g).item(), 0.05 + 0.45 * torch.rand(1, generator=g).item()
            rows.append([b, torch.randint(0, s.nc, (1,), generator=g).item(), w / 2 + (1 - w) * torch.rand(1, generator=g).item(),
                         h / 2 + (1 - h) * torch.rand(1, generator=g).item(), w, h])
    return images, torch.tensor(rows, device=s.dev)
