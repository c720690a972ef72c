function Remove-AzRecoveryPoint {
    <#
    .SYNOPSIS
        Removes recovery points from the vault.
    .DESCRIPTION
        Deletes a recovery point. Its data stays in the vault, shared with other points, until
        Remove-AzBackupUnusedData deletes what no remaining point needs. Accepts the output of
        Get-AzRecoveryPoint from the pipeline, so old points can be removed by age or tag.
        Asks for confirmation unless -Confirm:$false is given.
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
    .PARAMETER PassThru
        Return an AzBackup.RemovedRecoveryPoint object for each removed point.
    .EXAMPLE
        Get-AzRecoveryPoint -Before (Get-Date).AddDays(-90) | Remove-AzRecoveryPoint -Confirm:$false
        Remove-AzBackupUnusedData -Confirm:$false

        Removes the points older than 90 days, then frees the space only they used.
    .EXAMPLE
        Remove-AzRecoveryPoint -PointId 3fa9c1 -WhatIf

        Shows which point would be removed, without removing it.
    .OUTPUTS
        None, or AzBackup.RemovedRecoveryPoint with -PassThru
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

        [switch]$PassThru
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        $arguments.point = $PointId
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase) }
        if ($PSCmdlet.ShouldProcess("recovery point $PointId", 'Remove')) {
            $removed = Invoke-AzBackupEngine -Command 'point.remove' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Result
            if ($PassThru) { $removed }
        }
    }
}
