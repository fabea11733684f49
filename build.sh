#!/usr/bin/env bash
# Build YoloCore (Release), and optionally run something:
#   ./build.sh              build everything
#   ./build.sh run [ARGS]   build, then run `yolocore ARGS` (no ARGS: the main job)
#   ./build.sh test         build and run the test suite
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cmd=${1:-build}
[ $# -gt 0 ] && shift
case "$cmd" in
  build) dotnet build YoloCore.sln -c Release -nologo -v q ;;
  run)
    dotnet build src/YoloCore.Cli/YoloCore.Cli.csproj -c Release -nologo -v q
    exec ./yolocore "$@" ;;
  test) dotnet test YoloCore.sln -c Release -nologo -v q --logger "console;verbosity=minimal" "$@" ;;  # minimal: failures with their messages
  *) echo "usage: ./build.sh [build | run [ARGS...] | test [dotnet test options]]" >&2; exit 2 ;;
esac
