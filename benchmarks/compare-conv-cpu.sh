#!/usr/bin/env bash
# Side by side on this machine: YoloCore's CPU convolution forward + backward against PyTorch's
# for every convolution of yolov5n at 320×320, batch 8 (benchmarks/yolov5n_convs_320.csv).
# Installs Debian's python3-torch (PyTorch 1.13 CPU) if it is missing. Prints a table, the totals
# weighted by how often each convolution occurs in the model, and the ratio.
#   benchmarks/compare-conv-cpu.sh [--runs 10] [--warmup 3]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=10; warmup=3
while [ $# -gt 0 ]; do case "$1" in --runs) runs=$2; shift 2;; --warmup) warmup=$2; shift 2;; *) echo "unknown option $1" >&2; exit 2;; esac; done
py=/usr/bin/python3
if ! $py -c "import torch" 2>/dev/null; then
  echo "installing Debian's python3-torch for the comparison ..." >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch >/dev/null
fi
dotnet build benchmarks/YoloCore.Benchmarks -c Release -nologo -v q >/dev/null
ours=$(mktemp); theirs=$(mktemp)
dotnet benchmarks/YoloCore.Benchmarks/bin/Release/net10.0/YoloCore.Benchmarks.dll --conv-table --runs "$runs" --warmup "$warmup" > "$ours"
$py benchmarks/pytorch/conv_shapes.py --runs "$runs" --warmup "$warmup" > "$theirs"
$py - "$ours" "$theirs" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
theirs = {r["name"]: r for r in map(json.loads, open(sys.argv[2]))}
print(f"{'convolution (batch 8, fwd+bwd)':34} {'n':>2} {'YoloCore ms':>11} {'GFLOP/s':>8} {'torch NCHW':>10} {'torch CL':>9} {'ratio':>6}")
tot = {"y": 0.0, "nchw": 0.0, "cl": 0.0}
for o in ours:
    t = theirs[o["name"]]
    best = min(t["nchw_ms"], t["channels_last_ms"])
    print(f"{o['name']:34} {o['count']:>2} {o['yolocore_ms']:>11.2f} {o['gflops']:>8.1f} {t['nchw_ms']:>10.2f} {t['channels_last_ms']:>9.2f} {o['yolocore_ms']/best:>6.2f}")
    tot["y"] += o["count"] * o["yolocore_ms"]; tot["nchw"] += o["count"] * t["nchw_ms"]; tot["cl"] += o["count"] * t["channels_last_ms"]
best = min(tot["nchw"], tot["cl"])
print(f"{'weighted total (one training step)':34} {'':>2} {tot['y']:>11.1f} {'':>8} {tot['nchw']:>10.1f} {tot['cl']:>9.1f} {tot['y']/best:>6.2f}")
print(f"torch {next(iter(theirs.values()))['torch']}, {next(iter(theirs.values()))['threads']} threads; ratio = YoloCore / faster PyTorch layout (lower is better)")
PY
