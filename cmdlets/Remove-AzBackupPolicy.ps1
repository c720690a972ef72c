function Remove-AzBackupPolicy {
    <#
    .SYNOPSIS
        Stops a policy's schedule and removes the policy; with -DeleteBackup also its recovery points.
    .DESCRIPTION
        Without -DeleteBackup the recovery points stay (and are no longer expired by any policy). With
        it, every point of the policy is deleted; the confirmation says how many points go. They are
        soft-deleted: for 14 days Get-AzRecoveryPoint -Deleted lists them and Restore-AzRecoveryPoint
        brings them back; after that, Remove-AzBackupUnusedData gives their space back. A policy whose run is in progress is not removed
        (AZB_POLICY_RUNNING): stop the run with Stop-AzBackupJob first. The stored passphrase goes
        with the last policy of its vault.
    .PARAMETER Name
        The policy, by name or from the pipeline.
    .PARAMETER DeleteBackup
        Also remove the policy's recovery points (needs the passphrase).
    .PARAMETER Passphrase
        The server's passphrase (else $env:AZBACKUP_PASSPHRASE, else the stored one).
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Remove-AzBackupPolicy -Name files

        Stops the schedule; the points stay.
    .EXAMPLE
        Get-AzBackupPolicy old | Remove-AzBackupPolicy -DeleteBackup -Confirm:$false

        Removes the policy old and all its recovery points without asking.
    .OUTPUTS
        AzBackup.RemovedPolicy
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.RemovedPolicy')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [switch]$DeleteBackup,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = @{ name = $Name }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $what = 'Remove the policy and its schedule; keep its recovery points'
        if ($DeleteBackup) {
            $arguments.deleteBackup = $true
            $preview = Invoke-AzBackupEngine -Command 'policy.remove' -Arguments ($arguments + @{ whatIf = $true }) -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result -SuppressWarnings
            if ($null -eq $preview) { return }
            $what = "Remove the policy, its schedule and its $($preview.PointsExpired) recovery point(s) (recoverable for 14 days with Restore-AzRecoveryPoint)"
        }
        if ($PSCmdlet.ShouldProcess("policy $Name", $what)) {
            $removed = Invoke-AzBackupEngine -Command 'policy.remove' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
            if ($removed -and $script:UseTaskScheduler) { Unregister-AzBackupPolicyTask -Name $Name }
            $removed
        }
    }
}
