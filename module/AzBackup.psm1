# Loader of the AzBackup module: dot-sources the private helpers and one file per public cmdlet.
# Nothing else runs at import time; the engine is located and probed on first use.

$script:ModuleRoot = $PSScriptRoot
# Engine versions already probed, keyed by path and write time (one probe per engine build and session).
$script:EngineCache = @{}

# Installed (release archive, .deb) the cmdlets sit inside the module folder; in a source checkout they are
# its sibling, cmdlets/.
$cmdletFolder = if (Test-Path -LiteralPath "$PSScriptRoot/cmdlets" -PathType Container) { "$PSScriptRoot/cmdlets" } else { "$PSScriptRoot/../cmdlets" }
foreach ($folder in @("$PSScriptRoot/private", $cmdletFolder)) {
    foreach ($file in Get-ChildItem -Path $folder -Filter '*.ps1' -File | Sort-Object Name) {
        . $file.FullName
    }
}
