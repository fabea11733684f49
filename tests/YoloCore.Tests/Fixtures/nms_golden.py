#!/usr/bin/env python3
"""Writes nms_float32.safetensors + nms_float32.json: predictions built for close calls (boxes
crowded on a grid, scores from a few values so that many tie exactly, IoUs near the thresholds,
coordinates up to 640 px so that the class offset of 7680 rounds them) and what upstream YOLOv5
v7.0's own non_max_suppression keeps for them in float32 on the CPU, for several settings; and
PyTorch's argsort(descending=True) of arrays with ties ("argsort.keys.K" → "argsort.order.K").

Run with Debian 12's python3-torch (PyTorch 1.13) and python3-torchvision, and a checkout of
ultralytics/yolov5 at tag v7.0 (its utils/general.py is imported, not copied):
    YOLOV5_DIR=/path/to/yolov5 /usr/bin/python3 tests/YoloCore.Tests/Fixtures/nms_golden.py
"""
import json, os, struct, sys
import torch

sys.path.insert(0, os.environ["YOLOV5_DIR"])
from utils.general import non_max_suppression  # noqa: E402

torch.manual_seed(7)
nc, n = 3, 1500
def predictions():
    # Not multiples of powers of two, so that float32 rounding decides close calls.
    xy = torch.randint(0, 40, (n, 2)).float() * 16 + torch.rand(n, 2) * 3
    wh = 8 + torch.rand(n, 2) * 30
    obj = torch.randint(1, 32, (n, 1)).float() / 31
    cls = torch.randint(0, 22, (n, nc)).float() / 21
    return torch.cat([xy, wh, obj, cls], 1)
pred = torch.stack([predictions(), predictions()])  # (2, n, 5 + nc), float32
cases = [
    {"name": "val", "conf_thres": 0.001, "iou_thres": 0.6, "max_det": 300, "multi_label": True, "agnostic": False},
    {"name": "detect", "conf_thres": 0.25, "iou_thres": 0.45, "max_det": 1000, "multi_label": False, "agnostic": False},
    {"name": "agnostic", "conf_thres": 0.25, "iou_thres": 0.45, "max_det": 100, "multi_label": False, "agnostic": True},
]
tensors = {"pred": pred.contiguous()}
for c in cases:
    out = non_max_suppression(pred.clone(), c["conf_thres"], c["iou_thres"], agnostic=c["agnostic"], multi_label=c["multi_label"], max_det=c["max_det"])
    c["counts"] = [int(o.shape[0]) for o in out]
    for b, o in enumerate(out):
        tensors[f"{c['name']}.{b}"] = o.float().contiguous()

# PyTorch's unstable argsort(descending=True) on arrays with many ties (what TorchArgsort copies).
for k, size in enumerate([17, 100, 1000, 5000]):
    keys = torch.randint(0, [3, 7, 50, 400][k], (size,)).float() / 7
    tensors[f"argsort.keys.{k}"] = keys
    tensors[f"argsort.order.{k}"] = keys.argsort(descending=True).float()

here = os.path.dirname(os.path.abspath(__file__))
header, offset, blobs = {}, 0, []
for k, t in tensors.items():
    data = t.numpy().tobytes()
    header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
    blobs.append(data)
hb = json.dumps(header).encode()
hb += b" " * ((8 - len(hb) % 8) % 8)
with open(os.path.join(here, "nms_float32.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
with open(os.path.join(here, "nms_float32.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
print({c["name"]: c["counts"] for c in cases})
