#!/usr/bin/env bash
# Installs libjpeg-turbo's TurboJPEG library (Debian/Ubuntu package libturbojpeg0, in `main`), the
# JPEG fast path of YoloCore.Data: without it JPEGs decode through SkiaSharp at about half the
# speed. Idempotent and quiet: does nothing when libturbojpeg.so.0 already loads.
# Needs root (uses sudo when not root). Exit status: 0 when the library is present at the end.
set -uo pipefail
say() { echo "install-turbojpeg: $*" >&2; }
have() { ldconfig -p 2>/dev/null | grep 'libturbojpeg\.so\.0 ' >/dev/null; } # no -q: an early exit would fail the pipe
have && exit 0
if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo -n); else
  say "need root (or sudo) to install libturbojpeg0"; exit 1; fi
if ! command -v apt-get >/dev/null; then say "apt-get not found: install libjpeg-turbo's TurboJPEG by hand"; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -qq install -y --no-install-recommends libturbojpeg0 >/dev/null 2>&1 \
  || { "${as_root[@]}" apt-get -qq update >/dev/null 2>&1; "${as_root[@]}" apt-get -qq install -y --no-install-recommends libturbojpeg0 >/dev/null 2>&1; } \
  || { say "apt-get install libturbojpeg0 failed"; exit 1; }
have || { say "libturbojpeg0 installed but libturbojpeg.so.0 is not in the loader cache"; exit 1; }
say "installed libturbojpeg0"
