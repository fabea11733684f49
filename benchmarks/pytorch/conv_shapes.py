#!/usr/bin/env python3
"""Times PyTorch's CPU convolution forward + backward for every shape in yolov5n_convs_320.csv,
the way benchmarks/YoloCore.Benchmarks times YoloCore's (same shapes, batch, threads, NCHW and
channels_last), and prints one JSON object per shape: median milliseconds over the timed runs."""
import argparse, csv, json, os, statistics, sys, time

import torch

p = argparse.ArgumentParser()
p.add_argument("--csv", default=os.path.join(os.path.dirname(__file__), "..", "yolov5n_convs_320.csv"))
p.add_argument("--batch", type=int, default=8)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--runs", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def rows(path):
    with open(path) as f:
        for r in csv.reader(line for line in f if not line.startswith("#")):
            name, cin, cout, k, s, pad, h, w, count, input_grad = r
            yield name, *map(int, (cin, cout, k, s, pad, h, w, count, input_grad))


def time_step(conv, x, gy):
    t0 = time.perf_counter()
    y = conv(x)
    y.backward(gy)
    t1 = time.perf_counter()
    conv.weight.grad = None
    x.grad = None
    return (t1 - t0) * 1e3


for name, cin, cout, k, s, pad, h, w, count, input_grad in rows(args.csv):
    result = {"name": name, "count": count, "torch": torch.__version__, "threads": args.threads}
    for layout in ("nchw", "channels_last"):
        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        conv = torch.nn.Conv2d(cin, cout, k, s, pad, bias=False).to(memory_format=fmt)
        x = torch.randn(args.batch, cin, h, w).to(memory_format=fmt).requires_grad_(bool(input_grad))
        with torch.no_grad():
            gy = torch.randn_like(conv(x)).contiguous(memory_format=fmt)
        for _ in range(args.warmup):
            time_step(conv, x, gy)
        result[layout + "_ms"] = statistics.median(time_step(conv, x, gy) for _ in range(args.runs))
    print(json.dumps(result), flush=True)
