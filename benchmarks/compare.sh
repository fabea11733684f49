#!/usr/bin/env bash
# YoloCore against our PyTorch reference (benchmarks/pytorch) on this machine, one run each, same
# model, batch, image size and step (forward, loss, backward, SGD, EMA):
#   benchmarks/compare.sh --device cpu|0 [--cfg yolov5s] [--batch-size 64] [--img 640] [--no-amp] [--steps N]
# PyTorch runs eager NCHW and channels_last (both with AMP on a GPU). On the CPU Debian's
# python3-torch is installed if missing. Prints both engines and YoloCore's speed-up.
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
device=cpu
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = "--device" ] && device=${args[$((i + 1))]}; done
py=python3
if [ "$device" = cpu ]; then
  py=/usr/bin/python3
  if ! $py -c "import torch" 2>/dev/null; then
    echo "installing Debian's python3-torch for the comparison ..." >&2
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch >/dev/null
  fi
fi
if [ -x .device/run ] && ! command -v dotnet >/dev/null; then yolocore=(.device/run YoloCore.Cli)   # the GPU machine
else
  dotnet build src/YoloCore.Cli -c Release -nologo -v q >/dev/null
  yolocore=(dotnet src/YoloCore.Cli/bin/Release/net10.0/YoloCore.Cli.dll)
fi
out=$(mktemp -d)
"${yolocore[@]}" bench "${args[@]}" --json > "$out/yolocore.json"
$py benchmarks/pytorch/bench.py "${args[@]}" --json > "$out/nchw.json"
$py benchmarks/pytorch/bench.py "${args[@]}" --channels-last --json > "$out/cl.json"
$py - "$out" <<'PY'
import json, sys
d = sys.argv[1]
rows = [json.load(open(f"{d}/{n}.json")) for n in ("yolocore", "nchw", "cl")]
y = rows[0]
print(f"{y['cfg']}, batch {y['batch']}, {y['img']} px, {y['device_name']}, {'AMP' if y['amp'] else 'float32'}")
print(f"{'engine':28} {'images/s':>9} {'ms/step':>9} {'peak MiB':>9}   phases (ms)")
for r in rows:
    name = "YoloCore" if r["engine"] == "yolocore" else f"PyTorch {r['torch']} {r['layout']}"
    phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phases_ms"].items())
    print(f"{name:28} {r['images_per_s']:9.1f} {r['step_ms']:9.1f} {r['peak_memory_mib']:9.0f}   {phases}")
best = max(rows[1:], key=lambda r: r["images_per_s"])
print(f"YoloCore / fastest PyTorch ({best['layout']}): {y['images_per_s'] / best['images_per_s']:.2f}x images/s")
PY
