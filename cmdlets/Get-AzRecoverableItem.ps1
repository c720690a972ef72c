function Get-AzRecoverableItem {
    <#
    .SYNOPSIS
        Lists the files, folders and links in a recovery point.
    .DESCRIPTION
        Browses a recovery point without restoring anything: the top level, the contents of a folder
        (-Path), everything below it (-Recurse), or every item whose name matches a wildcard (-Filter,
        which searches the whole point or the whole -Path folder). PointId, Vault and ServerId bind from
        the pipeline, so the output of Get-AzRecoveryPoint can be piped in, and the output can be piped
        to Start-AzRecovery to restore exactly the listed items.
    .PARAMETER PointId
        Recovery point: its ID, a unique prefix of at least 6 hex digits, or 'latest'. Binds by property
        name from Get-AzRecoveryPoint.
    .PARAMETER Path
        Folder (or file) inside the recovery point, as shown in the Path of its items, e.g. /srv/data.
        A relative path (./data, data) is resolved against the current location, as for the other
        cmdlets. Default: the top level.
    .PARAMETER Recurse
        Also list the contents of sub-folders.
    .PARAMETER Filter
        Only items that match this glob, e.g. '*.docx' or 'logs/*.gz', at any depth; dot-files are not
        special ('*.lock' finds /etc/.pwd.lock). The rules are those of Start-AzBackup -Exclude.
        Implies -Recurse.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name.
    .PARAMETER Server
        Server that made the point: its ID, an ID prefix of at least 8 characters, or its host name.
        Default: this server. Binds by property name (ServerId).
    .PARAMETER Passphrase
        The server's passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Get-AzRecoveryPoint | Select-Object -Last 1 | Get-AzRecoverableItem -Recurse

        Lists everything in the newest recovery point.
    .EXAMPLE
        Get-AzRecoverableItem -PointId latest -Path /srv/data -Filter '*.docx'

        Finds the Word documents under /srv/data in the newest point.
    .EXAMPLE
        Get-AzRecoverableItem -PointId 3fa9c1 -Path /etc | Where-Object Type -EQ 'file' | Start-AzRecovery -Target /tmp/etc

        Restores the files directly in /etc (not its sub-folders) of point 3fa9c1 into /tmp/etc.
    .OUTPUTS
        AzBackup.RecoverableItem
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.RecoverableItem')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$PointId,

        [Parameter(Position = 1, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Path,

        [switch]$Recurse,

        [ValidateNotNullOrEmpty()]
        [string]$Filter,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        $arguments.point = $PointId
        if ($Path) { $arguments.path = if ([System.IO.Path]::IsPathRooted($Path)) { $Path } else { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path) } }
        if ($Recurse) { $arguments.recurse = $true }
        if ($Filter) { $arguments.filter = $Filter }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        Invoke-AzBackupEngine -Command 'ls' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Items
    }
}
