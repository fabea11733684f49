#!/usr/bin/env bash
# The one GPU script (issue 13's GPU points and issue 15's NCCL points), in one go of at most
# ~8 minutes on an H200, writing each step's full log under OUT and printing a short table last:
#   benchmarks/gpu-check.sh --out DIR [--device 0|cpu] [--yolov5 DIR] [--packed] [--budget SECONDS] [--quick]
# 1. doctor --check: every CUDA op against the CPU op (float32, float16), the golden cases, and the
#    200-step AMP training check against the float32 CPU;
# 2. bench (yolocore), bench.py (our PyTorch reference, NCHW and channels_last), and with --yolov5
#    upstream YOLOv5's own step (its v7.0 source: a local copy, never committed) with channels_last +
#    AMP; bench --profile (time per op, launches);
# 3. the data-parallel points: NCCL with world size 1 against no reducer (the same bench again
#    after it, for drift), with --accumulate 4, and two ranks on the one GPU;
# 4. the real trainer: yolov5s on coco128 at 640, batch 64, 3 epochs (and upstream's train.py with
#    --yolov5), for the loop's images/s against bench's.
# --device cpu is the dry run (small sizes, TCP instead of NCCL) that checks the script before a
# GPU session. On the GPU machine (no dotnet) or with --packed it runs what benchmarks/gpu-pack.sh
# put under .device/, with the datasets and golden files copied there (see docs/gpu/README.md).
# --budget (default 500 s) bounds the whole run: each step gets at most what is left, and a step
# that would start with under 20 s left is skipped (recorded as exit "skip"), so the table always
# comes back inside one device call.
set -uo pipefail
cd "$(dirname "$0")/.."
out="" device=0 yolov5="" quick=0 packed=0 budget=500
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --yolov5) yolov5=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --packed) packed=1; shift ;;
    --budget) budget=$2; shift 2 ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "usage: benchmarks/gpu-check.sh --out DIR [--device 0|cpu] [--yolov5 DIR] [--packed] [--budget SECONDS] [--quick]" >&2; exit 2; }
mkdir -p "$out"
if [ -x .device/run ] && { [ $packed = 1 ] || ! command -v dotnet >/dev/null; }; then yolocore=(.device/run YoloCore.Cli)
else
  dotnet build src/YoloCore.Cli -c Release -nologo -v q >/dev/null || { echo "gpu-check: build failed" >&2; exit 1; }
  yolocore=(dotnet src/YoloCore.Cli/bin/Release/net10.0/YoloCore.Cli.dll)
fi
py=python3; [ "$device" = cpu ] && [ -x /usr/bin/python3 ] && py=/usr/bin/python3
data=.device/datasets/coco128.yaml; [ -f "$data" ] || data=../shared/datasets/coco128.yaml
golden=.device/golden; [ -d "$golden" ] || golden=../shared/golden
if [ "$device" = cpu ]; then
  cfg=yolov5n img=128 batch=8 warmup=1 steps=2 trainsteps=4 epochs=1 port=29930
else
  cfg=yolov5s img=640 batch=64 warmup=5 steps=20 trainsteps=200 epochs=3 port=29500
fi
[ $quick = 1 ] && steps=$((steps / 2 > 1 ? steps / 2 : 1)) trainsteps=$((trainsteps / 4 > 2 ? trainsteps / 4 : 2))
size=(--cfg "$cfg" --batch-size "$batch" --img "$img" --warmup "$warmup" --steps "$steps")
summary="$out/summary.tsv"; : > "$summary"

# step NAME SECONDS COMMAND...: runs it under a time limit (and what is left of the budget), logs
# it, and records rc and time.
deadline=$(( $(date +%s) + budget ))
step() {
  local name=$1 limit=$2; shift 2
  local left=$(( deadline - $(date +%s) ))
  if [ $left -lt 20 ]; then printf '%s\tskip\t0.0\n' "$name" >> "$summary"; echo "gpu-check: $name skipped (budget)" >&2; return; fi
  [ $left -lt "$limit" ] && limit=$left
  local t0; t0=$(date +%s.%N)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%.1f\n' "$name" "$rc" "$(echo "$(date +%s.%N) - $t0" | bc)" >> "$summary"
  echo "gpu-check: $name exit $rc" >&2
}

step doctor 60 "${yolocore[@]}" doctor
if [ "$device" != cpu ]; then
  step parity 200 "${yolocore[@]}" doctor --check --golden "$golden" --train-check "$data" --train-steps "$trainsteps"
  # The opt-in implicit-GEMM convolution against the CPU (its conv rows run the new kernel).
  step parity-implicit 60 env YOLOCORE_IMPLICIT_GEMM=1 "${yolocore[@]}" doctor --check --only conv
  # The whole fused path in training (implicit GEMM, Conv blocks as one op, deferred activations)
  # against the float32 CPU over fewer steps: what turning it on by default needs besides speed.
  step parity-fused-train 90 env YOLOCORE_IMPLICIT_GEMM=1 YOLOCORE_FUSED_BN_SILU=1 "${yolocore[@]}" doctor --check --only deferred \
    --train-check "$data" --train-steps $((trainsteps * 3 / 10 > 2 ? trainsteps * 3 / 10 : 2))
fi
# Most important first: a step that would start with under 20 s of the budget left is skipped.
step bench 90 "${yolocore[@]}" bench --device "$device" "${size[@]}" --json
step torch-cl 90 $py benchmarks/pytorch/bench.py --device "$device" "${size[@]}" --channels-last --json
if [ -n "$yolov5" ]; then
  step upstream-cl 120 env YOLOV5_CONFIG_DIR="$yolov5/.config" $py benchmarks/pytorch/upstream_bench.py --yolov5 "$yolov5" --device "$device" "${size[@]}" --channels-last --json
fi
# The fused path (implicit GEMM, BatchNorm's sums in its epilogue, deferred activations): the
# engine's fastest step if parity-fused-train passed; then the same captured as a CUDA graph.
step bench-epilogue 90 env YOLOCORE_FUSED_BN_SILU=1 YOLOCORE_IMPLICIT_GEMM=1 "${yolocore[@]}" bench --device "$device" "${size[@]}" --json
step bench-epilogue-graph 90 env YOLOCORE_FUSED_BN_SILU=1 YOLOCORE_IMPLICIT_GEMM=1 "${yolocore[@]}" bench --device "$device" "${size[@]}" --graph --json
# Where the fused step's time goes, op by op (what to fuse next).
step profile-epilogue 120 env YOLOCORE_FUSED_BN_SILU=1 YOLOCORE_IMPLICIT_GEMM=1 "${yolocore[@]}" bench --device "$device" "${size[@]}" --profile
step bench-implicit 90 env YOLOCORE_IMPLICIT_GEMM=1 "${yolocore[@]}" bench --device "$device" "${size[@]}" --json
# The step captured once as a CUDA graph and replayed (the parity step compared it with eager).
step bench-graph 90 "${yolocore[@]}" bench --device "$device" "${size[@]}" --graph --json
step profile 120 "${yolocore[@]}" bench --device "$device" "${size[@]}" --profile
step ddp-world1 90 "${yolocore[@]}" launch --nproc-per-node 1 --master-port $((port + 1)) -- bench --device "$device" "${size[@]}" --json
step bench-again 90 "${yolocore[@]}" bench --device "$device" "${size[@]}" --json
step ddp-two-ranks 120 "${yolocore[@]}" launch --nproc-per-node 2 --master-port $((port + 3)) -- bench --device "$device" "${size[@]}" --json
step train 240 "${yolocore[@]}" train --device "$device" --data "$data" --cfg "$cfg" --img "$img" --batch-size "$batch" --epochs "$epochs" \
  --workers 16 --project "$out/runs" --name train --exist-ok
step bench-fused 90 env YOLOCORE_FUSED_BN_SILU=1 "${yolocore[@]}" bench --device "$device" "${size[@]}" --json
step torch-nchw 90 $py benchmarks/pytorch/bench.py --device "$device" "${size[@]}" --json
step ddp-accumulate 90 "${yolocore[@]}" launch --nproc-per-node 1 --master-port $((port + 2)) -- bench --device "$device" --cfg "$cfg" \
  --batch-size $((batch / 4 > 1 ? batch / 4 : 2)) --img "$img" --warmup 4 --steps $((steps / 4 * 4 > 4 ? steps / 4 * 4 : 4)) --accumulate 4 --json
step ddp-train 120 "${yolocore[@]}" launch --nproc-per-node 1 --master-port $((port + 4)) -- train --device "$device" --data "$data" --cfg "$cfg" \
  --img "$img" --batch-size "$batch" --max-steps $((trainsteps / 8 > 2 ? trainsteps / 8 : 2)) --noval --workers 16 --project "$out/runs" --name ddp-train --exist-ok
if [ -n "$yolov5" ]; then
  # Upstream resolves a relative `path:` against its own folder: give it the dataset's absolute one.
  sed "s|^path: .*|path: $(cd "$(dirname "$data")" && pwd)/$(sed -n 's/^path: *//p' "$data")|" "$data" > "$out/data-upstream.yaml"
  step upstream-train 300 env YOLOV5_CONFIG_DIR="$yolov5/.config" $py "$yolov5/train.py" --data "$(readlink -f "$out/data-upstream.yaml")" --cfg "$cfg.yaml" --weights '' \
    --img "$img" --batch-size "$batch" --epochs "$epochs" --device "$device" --workers 16 --project "$(readlink -f "$out")/runs" --name upstream --exist-ok
fi

# The fused step again with every Conv block's activation computed (--defer off): what leaving
# BatchNorm + SiLU to the reading convolution's loads saves in time and memory.
step bench-computed 90 env YOLOCORE_FUSED_BN_SILU=1 YOLOCORE_IMPLICIT_GEMM=1 "${yolocore[@]}" bench --device "$device" "${size[@]}" --defer off --json

# The short table: each step's exit code and time, and its headline figure.
$py - "$out" <<'PY'
import json, os, re, sys
out = sys.argv[1]
def report(name):
    try:
        lines = [l for l in open(os.path.join(out, name + ".log")) if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except OSError:
        return None
def figure(name):
    r = report(name)
    if r:
        s = f"{r['images_per_s']:.1f} img/s, {r['step_ms']:.1f} ms, peak {r['peak_memory_mib']:.0f} MiB"
        if r.get("launches_per_step") is not None:
            s += f", {r['launches_per_step']:.0f} launches/step"
        if r.get("host_reads_per_step") is not None:
            s += f", {r['host_reads_per_step']:g} host reads/step"
        if r.get("buckets"):
            s += f"; {r['allreduce_per_optimizer_step']:g} all-reduces/opt step ({r['buckets']} buckets), {r['allreduce_mib_per_step']:.1f} MiB, exposed {r['exposed_comm_ms']:.1f} ms"
        return s
    text = open(os.path.join(out, name + ".log")).read() if os.path.exists(os.path.join(out, name + ".log")) else ""
    if name.startswith("parity"):
        passed = re.findall(r"(\d+)/(\d+) passed", text)
        tickets = re.findall(r"ticket counters after every launch above: (\d+) left nonzero", text)
        worst = re.findall(r"training check: worst difference ([\d.]+%)", text)
        summary = "; ".join(f"{a}/{b} ops passed" for a, b in passed) + (f"; tickets left {tickets[-1]}" if tickets else "") \
            + (f"; training worst {worst[-1]}" if worst else "")
        return summary or text.strip().splitlines()[-1:] and text.strip().splitlines()[-1][:100]
    if name in ("train", "upstream-train", "ddp-train"):
        rate, done = re.findall(r"(\d+(?:\.\d+)?)it/s", text), re.findall(r"(\d+) epochs completed in ([\d.]+) hours", text)
        pace = re.findall(r"loader ([\d.]+) images/s \((\d+) workers\), steps ([\d.]+) images/s", text)
        parts = ([f"{done[-1][0]} epochs in {float(done[-1][1]) * 3600:.0f} s"] if done else []) + ([f"last bar {rate[-1]} it/s"] if rate else []) \
            + ([f"loader {pace[-1][0]} img/s ({pace[-1][1]} workers), steps {pace[-1][2]} img/s"] if pace else [])
        return ", ".join(parts) or (text.strip().splitlines()[-1][:100] if text.strip() else "")
    lines = text.strip().splitlines()
    return lines[-1][:100] if lines else ""
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "summary.tsv"))]
print(f"{'step':16} {'exit':>4} {'s':>7}  result")
for name, rc, sec in rows:
    print(f"{name:16} {rc:>4} {sec:>7}  {figure(name)}")
y, best = report("bench"), max([r for r in (report("torch-nchw"), report("torch-cl"), report("upstream-cl")) if r], key=lambda r: r["images_per_s"], default=None)
if y and best:
    print(f"YoloCore / fastest PyTorch ({best['engine']} {best.get('layout', '')}): {y['images_per_s'] / best['images_per_s']:.2f}x images/s")
# The fastest YoloCore step of any path, and whether that path passed its parity check.
runs = [(n, report(n)) for n in ("bench", "bench-graph", "bench-implicit", "bench-epilogue", "bench-epilogue-graph")]
fast = max([(n, r) for n, r in runs if r], key=lambda nr: nr[1]["images_per_s"], default=None)
if fast and best:
    checked = {"bench-epilogue": "parity-fused-train", "bench-epilogue-graph": "parity-fused-train", "bench-implicit": "parity-implicit"}.get(fast[0], "parity")
    status = next((rc for n, rc, _ in rows if n == checked), "not run")
    print(f"fastest YoloCore ({fast[0]}, {checked} exit {status}) / fastest PyTorch: {fast[1]['images_per_s'] / best['images_per_s']:.2f}x images/s, "
          f"peak {fast[1]['peak_memory_mib']:.0f} against {best.get('peak_memory_mib', float('nan')):.0f} MiB")
a, b = report("bench"), report("ddp-world1")
if a and b:
    print(f"reducer overhead (NCCL world 1 vs none): {100 * (b['step_ms'] / a['step_ms'] - 1):+.1f} % step time")
d = report("bench-implicit")
if a and d:
    print(f"implicit-GEMM convolutions: {100 * (d['step_ms'] / a['step_ms'] - 1):+.1f} % step time")
g = report("bench-graph")
if a and g:
    print(f"CUDA graph: {100 * (g['step_ms'] / a['step_ms'] - 1):+.1f} % step time, {g.get('graph_replays', 0)} replays, {g.get('graph_ops', 0)} ops per graph")
c = report("bench-fused")
if a and c:
    print(f"fused BatchNorm+SiLU in training: {100 * (c['step_ms'] / a['step_ms'] - 1):+.1f} % step time")
e = report("bench-epilogue")
if a and e:
    print(f"implicit GEMM + BatchNorm sums in its epilogue: {100 * (e['step_ms'] / a['step_ms'] - 1):+.1f} % step time")
f = report("bench-computed")
if e and f:
    print(f"deferred BatchNorm + SiLU against computed: {100 * (e['step_ms'] / f['step_ms'] - 1):+.1f} % step time, peak {e['peak_memory_mib']:.0f} against {f['peak_memory_mib']:.0f} MiB")
PY
