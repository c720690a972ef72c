function New-AzBackupVaultArgument {
    <#
    .SYNOPSIS
        The arguments every vault command shares (vault, server, cacheDir), with local paths resolved
        against the caller's PowerShell location. Parameters left empty are left out, so the engine
        uses its defaults (the vault this server is registered with, this server, the default cache).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller,
        [string]$Vault,
        [string]$Server,
        [string]$CacheDirectory
    )
    $arguments = @{}
    if ($Vault) {
        # A URL (Azure Blob container) is sent as it is; anything else is a folder path.
        $arguments.vault = if ($Vault -match '^[a-z][a-z0-9+.-]*://') { $Vault } else { $Caller.GetUnresolvedProviderPathFromPSPath($Vault) }
    }
    if ($Server) { $arguments.server = $Server }
    if ($CacheDirectory) { $arguments.cacheDir = $Caller.GetUnresolvedProviderPathFromPSPath($CacheDirectory) }
    $arguments
}
