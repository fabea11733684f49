# Build YoloCore (Release), and optionally run something (Windows twin of build.sh):
#   ./build.ps1              build everything
#   ./build.ps1 run [ARGS]   build, then run yolocore ARGS (no ARGS: the main job)
#   ./build.ps1 test         build and run the test suite
param([string]$Command = "build", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @())
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"
switch ($Command) {
  "build" { dotnet build YoloCore.sln -c Release -nologo -v q; exit $LASTEXITCODE }
  "run" {
    dotnet build src/YoloCore.Cli/YoloCore.Cli.csproj -c Release -nologo -v q
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    if ($Rest.Count -eq 0) { $Rest = @("train") }
    dotnet src/YoloCore.Cli/bin/Release/net10.0/YoloCore.Cli.dll @Rest; exit $LASTEXITCODE
  }
  "test" { dotnet test YoloCore.sln -c Release -nologo -v q @Rest; exit $LASTEXITCODE }
  default { Write-Error "usage: ./build.ps1 [build | run [ARGS...] | test]"; exit 2 }
}
