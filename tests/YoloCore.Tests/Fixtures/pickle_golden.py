#!/usr/bin/env python3
"""Writes the pickle fixtures for PickleTests:
  pickle_protocols.json  one value pickled with protocols 0 to 5 (base64) and the value as JSON;
  tiny_state_dict.pt     torch.save of a small state dict: float32, float16, a strided view
                         (a transpose), an int64 and a bool tensor.
Run with Debian 12's python3-torch (PyTorch 1.13):
    /usr/bin/python3 tests/YoloCore.Tests/Fixtures/pickle_golden.py
"""
import base64, collections, json, os, pickle
import torch

here = os.path.dirname(os.path.abspath(__file__))
value = {
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**40, -2**63, 2**70],
    "floats": [0.0, -1.5, 3.141592653589793, 1e-300],
    "text": ["", "ascii", "ünïcödé ✓", "x" * 300],
    "tuple": (1, (2, 3), (4, 5, 6), ()),
    "nested": {"a": [None, True, False], "b": {"c": 1}},
    "bytes": b"\x00\x01\xff" * 100,
    "shared": None,
}
shared = [1, 2]
value["shared"] = [shared, shared]  # memo: the same list twice

def as_json(v):
    if isinstance(v, bytes): return {"bytes": base64.b64encode(v).decode()}
    if isinstance(v, (list, tuple)): return [as_json(x) for x in v]
    if isinstance(v, dict): return {k: as_json(x) for k, x in v.items()}
    if isinstance(v, int) and not -2**63 <= v < 2**63: return {"bigint": str(v)}
    return v

out = {"expected": as_json(value), "pickles": {str(p): base64.b64encode(pickle.dumps(value, protocol=p)).decode() for p in range(0, 6)}}
with open(os.path.join(here, "pickle_protocols.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")

m = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd = collections.OrderedDict([
    ("w", m),
    ("half", torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16)),
    ("transposed", m.t()),                      # a view: strides (1, 4) into the same storage
    ("offset", m[1:, 1:3]),                     # a view with an offset
    ("count", torch.tensor(7, dtype=torch.int64)),
    ("mask", torch.tensor([True, False, True])),
])
torch.save(sd, os.path.join(here, "tiny_state_dict.pt"))
print("written")
