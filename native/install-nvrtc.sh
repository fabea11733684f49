#!/usr/bin/env bash
# Installs NVRTC (Debian package libnvrtc11.2, NVRTC 11.8, from the `non-free` component) so that
# kernels can be compile-checked to PTX without a GPU. Idempotent and quiet: does nothing when
# /usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2 is already there.
#
# The machine's apt sources may list only `main`. Rather than edit them, this writes a temporary
# sources file with the same mirrors and `non-free`, and passes it to apt-get through
# Dir::Etc::SourceList, so the system's own source lists stay as they were.
# Needs root (uses sudo when not root). Exit status: 0 when libnvrtc.so.11.2 is present at the end.
set -uo pipefail
lib=/usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2
[ -e "$lib" ] && exit 0

say() { echo "install-nvrtc: $*" >&2; }
if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo -n); else
  say "need root (or sudo) to install libnvrtc11.2"; exit 1; fi
if ! command -v apt-get >/dev/null; then say "apt-get not found: install NVRTC 11.2+ by hand"; exit 1; fi

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { say "cannot read VERSION_CODENAME from /etc/os-release"; exit 1; }

extra=$(mktemp --suffix=.sources)
trap 'rm -f "$extra"' EXIT
# deb822 stanzas (*.sources) whose Suites name the release itself: same URIs and key, non-free.
for f in /etc/apt/sources.list.d/*.sources; do
  [ -e "$f" ] || continue
  awk -v rel="$codename" '
    function flush() {
      if (keep && uris != "") {
        print "Types: deb"; print "URIs: " uris; print "Suites: " rel; print "Components: non-free"
        if (signed != "") print "Signed-By: " signed
        print ""
      }
      keep = 0; uris = ""; signed = ""
    }
    /^[[:space:]]*$/ { flush(); next }
    /^#/ { next }
    /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
    /^Signed-By:/ { sub(/^Signed-By:[[:space:]]*/, ""); signed = $0 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == rel) keep = 1 }
    END { flush() }' "$f" >>"$extra"
done
# one-line sources ("deb URI codename main ...") become deb822 stanzas as well.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -e "$f" ] || continue
  awk -v rel="$codename" '
    $1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) == rel) { print "Types: deb"; print "URIs: " $i; print "Suites: " rel; print "Components: non-free"; print "" }
    }' "$f" >>"$extra"
done
if [ ! -s "$extra" ]; then say "no apt source for release '$codename' found to add non-free to"; exit 1; fi

opts=(-o "Dir::Etc::SourceList=$extra" -qq)
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get "${opts[@]}" update >/dev/null 2>&1; then
  say "apt-get update (with non-free) failed"; fi
if ! "${as_root[@]}" apt-get "${opts[@]}" install -y --no-install-recommends libnvrtc11.2 >/dev/null 2>&1; then
  say "apt-get install libnvrtc11.2 failed"; exit 1; fi
[ -e "$lib" ] || { say "libnvrtc11.2 installed but $lib is missing"; exit 1; }
say "installed libnvrtc11.2 ($lib)"
