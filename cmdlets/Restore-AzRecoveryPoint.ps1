function Restore-AzRecoveryPoint {
    <#
    .SYNOPSIS
        Brings back a deleted recovery point.
    .DESCRIPTION
        A recovery point removed with Remove-AzRecoveryPoint, expired by a policy's retention, or
        removed with Remove-AzBackupPolicy -DeleteBackup is soft-deleted: it stays in the vault for
        14 days. This cmdlet makes such a point a normal recovery point again, listed by
        Get-AzRecoveryPoint and usable by Start-AzRecovery. A policy's retention does not expire a
        point brought back again; remove it with Remove-AzRecoveryPoint when it is no longer needed.

        Get-AzRecoveryPoint -Deleted lists the points that can be brought back, with the time until
        which they can (PurgeAfter). This cmdlet restores a recovery point, not files: to restore
        files, use Start-AzRecovery. A point that is not deleted is returned unchanged.
    .PARAMETER PointId
        The deleted recovery point: its ID, or a unique prefix of at least 6 hex digits. Binds by
        property name (from Get-AzRecoveryPoint -Deleted).
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
    .EXAMPLE
        Get-AzRecoveryPoint -Deleted

        Lists the deleted points, with when and why each was deleted and until when it can be brought back.
    .EXAMPLE
        Restore-AzRecoveryPoint -PointId 3fa9c1
        Start-AzRecovery -PointId 3fa9c1 -Target /srv/restore

        Brings back a deleted point, then restores its files.
    .OUTPUTS
        AzBackup.RecoveryPoint (RestoredAt: when it was brought back)
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.RecoveryPoint')]
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
        [string]$PassphraseFile
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        $arguments.point = $PointId
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        if ($PSCmdlet.ShouldProcess("recovery point $PointId", 'Bring back from soft delete')) {
            Invoke-AzBackupEngine -Command 'point.undelete' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
        }
    }
}
