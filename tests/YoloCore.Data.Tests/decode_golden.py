#!/usr/bin/env python3
"""Writes the decoding fixtures that DecodeConformanceTests compare YoloCore's decoder with:

  decode/*                 small images in every format and variant the loader accepts (made here
                           with OpenCV and Pillow: JPEG baseline/progressive/grayscale/CMYK/4:4:4,
                           EXIF orientations 1-8, PNG 8/16-bit/palette/alpha/gray, BMP, WebP, TIFF);
  opencv_decode.json       for each of them and for every image of ../shared/datasets/coco128, what
                           OpenCV's cv2.imread(path, cv2.IMREAD_COLOR) gives, as RGB: width, height
                           and the SHA-256 of the pixel bytes (rows top to bottom, R G B per pixel).

Recorded with Debian 12's python3-opencv (OpenCV 4.6.0; libjpeg-turbo, libpng 1.6.39, libtiff 4.5.0,
libwebp) and python3-pil (Pillow 9.4.0). Run from the repository root:
    /usr/bin/python3 tests/YoloCore.Data.Tests/decode_golden.py
"""
import glob, hashlib, io, json, os
import cv2
import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "decode")
os.makedirs(out, exist_ok=True)


def pattern(w, h):
    """Gradients, sharp edges and a corner marker, so that a wrong orientation or colour shows."""
    y, x = np.mgrid[0:h, 0:w]
    im = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x * 7 + y * 13) % 256)], axis=2).astype(np.uint8)
    im[(x // 6 + y // 6) % 2 == 0, 2] //= 3
    im[:5, :9] = (250, 20, 20)  # red block at the top-left corner
    return im  # RGB


def exif_bytes(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


rgb = pattern(45, 31)
bgr = rgb[..., ::-1].copy()
pil = Image.fromarray(rgb)
gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
rgba = np.dstack([rgb, ((np.arange(45)[None, :] * 5 + np.arange(31)[:, None] * 3) % 256).astype(np.uint8)])

files = {}
def save(name, writer):
    path = os.path.join(out, name)
    writer(path)
    files[name] = path

# JPEG
save("baseline.jpg", lambda p: cv2.imwrite(p, bgr, [cv2.IMWRITE_JPEG_QUALITY, 90]))
save("progressive.jpg", lambda p: cv2.imwrite(p, bgr, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]))
save("optimized.jpg", lambda p: cv2.imwrite(p, bgr, [cv2.IMWRITE_JPEG_OPTIMIZE, 1, cv2.IMWRITE_JPEG_QUALITY, 75]))
save("subsampling444.jpg", lambda p: pil.save(p, quality=92, subsampling=0))
save("subsampling422.jpg", lambda p: pil.save(p, quality=92, subsampling=1))
save("gray.jpg", lambda p: cv2.imwrite(p, gray))
save("cmyk.jpg", lambda p: pil.convert("CMYK").save(p, quality=90))
for o in range(1, 9):
    save(f"exif{o}.jpg", lambda p, o=o: pil.save(p, quality=90, exif=exif_bytes(o)))
from PIL import ImageCms
save("icc.jpg", lambda p: pil.save(p, quality=90, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()))
# PNG
save("rgb.png", lambda p: cv2.imwrite(p, bgr))
save("rgb16.png", lambda p: cv2.imwrite(p, (bgr.astype(np.uint16) * 257 + np.arange(45, dtype=np.uint16)[None, :, None] * 3)))
save("gray.png", lambda p: cv2.imwrite(p, gray))
save("gray16.png", lambda p: cv2.imwrite(p, gray.astype(np.uint16) * 251))
save("rgba.png", lambda p: Image.fromarray(rgba, "RGBA").save(p))
save("grayalpha.png", lambda p: Image.fromarray(np.dstack([gray, rgba[..., 3]]), "LA").save(p))
save("palette.png", lambda p: pil.quantize(colors=37).save(p))
save("palette_trns.png", lambda p: pil.quantize(colors=16).save(p, transparency=3))
save("exif6.png", lambda p: pil.save(p, exif=exif_bytes(6)))
# BMP
save("rgb.bmp", lambda p: cv2.imwrite(p, bgr))
save("palette.bmp", lambda p: pil.quantize(colors=200).save(p))
save("rgba.bmp", lambda p: Image.fromarray(rgba, "RGBA").save(p))
# WebP
save("lossy.webp", lambda p: cv2.imwrite(p, bgr, [cv2.IMWRITE_WEBP_QUALITY, 80]))
save("lossless.webp", lambda p: cv2.imwrite(p, bgr, [cv2.IMWRITE_WEBP_QUALITY, 101]))
save("exif6.webp", lambda p: pil.save(p, quality=80, exif=exif_bytes(6)))
save("alpha.webp", lambda p: Image.fromarray(rgba, "RGBA").save(p, lossless=True))
# TIFF
save("rgb.tif", lambda p: pil.save(p, compression=None))
save("lzw.tif", lambda p: pil.save(p, compression="tiff_lzw"))
save("deflate.tiff", lambda p: pil.save(p, compression="tiff_adobe_deflate"))
save("packbits.tif", lambda p: pil.save(p, compression="packbits"))
save("gray.tif", lambda p: Image.fromarray(gray).save(p, compression="tiff_lzw"))
save("palette.tif", lambda p: pil.quantize(colors=50).save(p))
save("rgba.tif", lambda p: Image.fromarray(rgba, "RGBA").save(p, compression="tiff_lzw"))
save("orientation6.tif", lambda p: pil.save(p, compression="tiff_lzw", tiffinfo={274: 6}))
save("opencv.tiff", lambda p: cv2.imwrite(p, bgr))
save("rgb16.tif", lambda p: cv2.imwrite(p, (bgr.astype(np.uint16) * 257 + np.arange(45, dtype=np.uint16)[None, :, None] * 3)))
save("predictor.tif", lambda p: pil.save(p, compression="tiff_lzw", tiffinfo={317: 2}))


def record(path):
    im = cv2.imread(path, cv2.IMREAD_COLOR)
    if im is None:
        return None
    rgb = np.ascontiguousarray(im[..., ::-1])
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "sha256": hashlib.sha256(rgb.tobytes()).hexdigest()}


result = {"opencv": cv2.__version__, "fixtures": {}, "coco128": {}}
for name in sorted(files):
    result["fixtures"][name] = record(files[name])
coco = os.path.join(here, "..", "..", "..", "shared", "datasets", "coco128", "images", "train2017")
for path in sorted(glob.glob(os.path.join(coco, "*.jpg"))):
    result["coco128"][os.path.basename(path)] = record(path)
with open(os.path.join(here, "opencv_decode.json"), "w") as f:
    json.dump(result, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{len(files)} fixtures, {len(result['coco128'])} coco128 images")
