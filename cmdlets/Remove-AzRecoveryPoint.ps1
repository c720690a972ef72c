function Remove-AzRecoveryPoint {
    <#
    .SYNOPSIS
        Removes recovery points from the vault.
    .DESCRIPTION
        Deletes a recovery point. It is soft-deleted: hidden from Get-AzRecoveryPoint and from
        restores, but kept for 14 days, during which Restore-AzRecoveryPoint brings it back
        (Get-AzRecoveryPoint -Deleted lists such points). After the 14 days, the next
        Remove-AzBackupUnusedData deletes it and the data only it used. -Permanent deletes it at once.
        A point that cannot be read (damaged) is always deleted at once.
        Accepts the output of Get-AzRecoveryPoint from the pipeline, so old points can be removed by
        age or tag. Asks for confirmation unless -Confirm:$false is given.
    .PARAMETER PointId
        Recovery point: its ID, or a unique prefix of at least 6 hex digits. Binds by property name.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name.
    .PARAMETER Server
        Server that made the point: its ID, an ID prefix of at least 8 characters, or its host name.
        Default: this server. Binds by property name (ServerId).
    .PARAMETER Passphrase
        The passphrase of the server that made the point. If omitted, $env:AZBACKUP_PASSPHRASE is used
        when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .PARAMETER Permanent
        Delete the point at once, without the 14 days of soft delete; it cannot be brought back.
        Also deletes a point that is soft-deleted already. Its data goes with the next
        Remove-AzBackupUnusedData.
    .PARAMETER PassThru
        Return an AzBackup.RemovedRecoveryPoint object for each removed point.
    .EXAMPLE
        Get-AzRecoveryPoint -Before (Get-Date).AddDays(-90) | Remove-AzRecoveryPoint -Confirm:$false
        Remove-AzBackupUnusedData -Confirm:$false

        Removes the points older than 90 days. They can be brought back for 14 days; the first
        Remove-AzBackupUnusedData after that frees the space only they used.
    .EXAMPLE
        Remove-AzRecoveryPoint -PointId 3fa9c1 -WhatIf

        Shows which point would be removed, without removing it.
    .EXAMPLE
        Remove-AzRecoveryPoint -PointId 3fa9c1 -Permanent -Confirm:$false
        Remove-AzBackupUnusedData -Confirm:$false

        Deletes a point for good at once (for example, one that holds data that must not be kept), and
        the data only it used.
    .OUTPUTS
        None, or AzBackup.RemovedRecoveryPoint with -PassThru (PurgeAfter: until when it can be brought back)
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.RemovedRecoveryPoint')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$PointId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [switch]$Permanent,

        [switch]$PassThru
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        $arguments.point = $PointId
        if ($Permanent) { $arguments.permanent = $true }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $action = if ($Permanent) { 'Remove permanently (it cannot be brought back)' } else { 'Remove (recoverable for 14 days with Restore-AzRecoveryPoint)' }
        if ($PSCmdlet.ShouldProcess("recovery point $PointId", $action)) {
            $removed = Invoke-AzBackupEngine -Command 'point.remove' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
            if ($PassThru) { $removed }
        }
    }
}
