# Loader of the AzBackup module: dot-sources the private helpers and one file per public cmdlet.
# Nothing else runs at import time; the engine is located and probed on first use.

$script:ModuleRoot = $PSScriptRoot
# Engine versions already probed, keyed by path and write time (one probe per engine build and session).
$script:EngineCache = @{}

foreach ($folder in @("$PSScriptRoot/private", "$PSScriptRoot/../cmdlets")) {
    foreach ($file in Get-ChildItem -Path $folder -Filter '*.ps1' -File | Sort-Object Name) {
        . $file.FullName
    }
}
