#!/usr/bin/env python3
"""Writes detect_golden.json: what upstream YOLOv5 v7.0's detect.py writes with --save-txt
--save-conf --save-crop for the first five images of ../shared/golden/val_synth_n3 and its
weights.pt (--img 256, CPU): every labels/*.txt line, and every crop's path and size.

Run with Debian 12's python3-torch, python3-torchvision and python3-opencv, from the repository
root, against a checkout of ultralytics/yolov5 at tag v7.0 (its detect.py is run, not copied):
    YOLOV5_DIR=/path/to/yolov5 /usr/bin/python3 tests/YoloCore.Tests/Fixtures/detect_golden.py
"""
import glob, json, os, shutil, subprocess, sys, tempfile
import cv2

here = os.path.dirname(os.path.abspath(__file__))
case = os.path.join(here, "..", "..", "..", "..", "shared", "golden", "val_synth_n3")
with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    names = sorted(os.listdir(os.path.join(case, "images", "val")))[:5]
    for n in names:
        shutil.copy(os.path.join(case, "images", "val", n), src)
    subprocess.run([sys.executable, "detect.py", "--weights", os.path.join(case, "weights.pt"), "--source", src, "--img", "256",
                    "--save-txt", "--save-conf", "--save-crop", "--device", "cpu", "--project", tmp, "--name", "out"],
                   cwd=os.environ["YOLOV5_DIR"], check=True, capture_output=True)
    out = os.path.join(tmp, "out")
    labels = {os.path.basename(f): open(f).read().splitlines() for f in sorted(glob.glob(os.path.join(out, "labels", "*.txt")))}
    crops = {}
    for f in sorted(glob.glob(os.path.join(out, "crops", "*", "*.jpg"))):
        im = cv2.imread(f)
        crops[os.path.relpath(f, out)] = [int(im.shape[1]), int(im.shape[0])]
with open(os.path.join(here, "detect_golden.json"), "w") as f:
    json.dump({"images": names, "img": 256, "labels": labels, "crops": crops}, f, indent=1)
    f.write("\n")
print(len(labels), "label files,", len(crops), "crops")
