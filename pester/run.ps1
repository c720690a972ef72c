# Runs every *.Tests.ps1 under pester/ with Pester 5 and writes a JSON summary (passed/failed/skipped).
param([Parameter(Mandatory)][string]$SummaryPath)
$ErrorActionPreference = 'Stop'
Import-Module Pester -RequiredVersion 5.7.1
$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Should.ErrorAction = 'Stop'
$result = Invoke-Pester -Configuration $configuration
$null = New-Item -ItemType Directory -Path (Split-Path $SummaryPath) -Force
[ordered]@{
    passed  = $result.PassedCount
    failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    skipped = $result.SkippedCount + $result.NotRunCount
    # Names of what failed, so the closing lines of a CI log say what broke.
    failures = @(@($result.Failed | ForEach-Object { $_.ExpandedPath + ': ' + (($_.ErrorRecord | Select-Object -First 1) -replace '\s+', ' ') }) +
                 @($result.FailedBlocks | ForEach-Object { $_.ExpandedPath + ': (block setup failed)' }) +
                 @($result.FailedContainers | ForEach-Object { [string]$_.Item + ': (file failed to run)' }))
} | ConvertTo-Json | Set-Content -LiteralPath $SummaryPath
if ($result.Result -ne 'Passed') { exit 1 }
exit 0
