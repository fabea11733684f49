#!/usr/bin/env bash
# Prepares .device/ for the one GPU call (benchmarks/gpu-check.sh), inside the 64 MiB that a device
# call may carry with the working tree:
#   benchmarks/gpu-pack.sh
# 1. ../shared/device/pack.sh publishes the command and packs this machine's .NET runtime;
# 2. the publish keeps only linux-x64 natives (SkiaSharp ships 15 platforms: 140 MiB) and no docs,
#    symbols or satellite resources;
# 3. the runtime is repacked without the debugger, tracing and alternative-GC libraries and the
#    assemblies the command never loads (XML, DataContract, System.Data, VisualBasic): 26 -> ~19 MiB;
#    the CPU dry run with the packed build (gpu-check.sh --packed --device cpu) is what shows
#    nothing needed went;
# 4. coco128 and the golden model case are copied under .device/ (files in ../shared do not travel).
# Upstream YOLOv5 for the side-by-side steps is your own prepared local copy (see docs/gpu/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared}
../shared/device/pack.sh src/YoloCore.Cli/YoloCore.Cli.csproj >/dev/null

cli=.device/YoloCore.Cli
find "$cli/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
find "$cli" -maxdepth 1 \( -name '*.xml' -o -name '*.pdb' \) -delete
find "$cli" -mindepth 1 -maxdepth 1 -type d ! -name runtimes -exec rm -rf {} +

if [ ! -f .device/dotnet-runtime.trimmed ] || [ .device/dotnet-runtime.version -nt .device/dotnet-runtime.trimmed ]; then
  tmp=$(mktemp -d)
  tar -xJf .device/dotnet-runtime.tar.xz -C "$tmp"
  app=$(ls -d "$tmp"/shared/Microsoft.NETCore.App/*/)
  for f in createdump libmscordaccore.so libmscordbi.so libcoreclrtraceptprovider.so libclrgc.so libclrgcexp.so \
           System.Private.Xml.dll System.Private.Xml.Linq.dll System.Private.DataContractSerialization.dll \
           System.Data.Common.dll Microsoft.VisualBasic.Core.dll; do
    rm -f "$app/$f"
  done
  tar -C "$tmp" -cf - . | xz -T0 -9 > .device/dotnet-runtime.tar.xz
  rm -rf "$tmp"
  touch .device/dotnet-runtime.trimmed
fi

rm -rf .device/datasets .device/golden && mkdir -p .device/datasets .device/golden
cp -r "$shared/datasets/coco128" "$shared/datasets/coco128.yaml" .device/datasets/
cp "$shared"/golden/yolov5n_64.* .device/golden/
chmod -R u+w .device/datasets .device/golden

tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
carried=$(du -sb .device | cut -f1)
total=$(( (tree + carried) / 1048576 ))
echo "gpu-pack: .device $((carried / 1048576)) MiB + working tree $((tree / 1048576)) MiB = $total MiB of 64"
[ "$total" -lt 64 ] || { echo "gpu-pack: over the 64 MiB a device call carries" >&2; exit 1; }
