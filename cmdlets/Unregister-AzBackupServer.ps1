function Unregister-AzBackupServer {
    <#
    .SYNOPSIS
        Unregisters this server from a vault, keeping its recovery points unless -DeleteBackup is given.
    .DESCRIPTION
        This server leaves the vault. On this machine, its registration and signing key, the backup
        policies of this vault with their schedules, the passphrase stored for unattended runs and its
        cache are removed (as the Azure Backup agent's unregister removes the server's schedule and
        settings). Register-AzBackupServer can then register it again, as a new server.

        In the vault, the server's namespace stays. Without -DeleteBackup its recovery points stay too and
        can be restored from any server with -Server <its ID> and its passphrase. With -DeleteBackup every
        recovery point is soft-deleted: for 14 days Get-AzRecoveryPoint -Server <ID> -Deleted lists them
        and Restore-AzRecoveryPoint -Server <ID> brings them back (from any server, with this
        passphrase); after that, Remove-AzBackupUnusedData -Server <ID> frees their space.

        Needs the passphrase (it proves the server is yours) and runs only on the registered server
        itself. Refused while a job of this server runs (AZB_JOB_RUNNING): stop it with Stop-AzBackupJob
        first. ConfirmImpact is High: it asks unless -Confirm:$false; -WhatIf says how many points and
        which policies it would touch.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one).
    .PARAMETER DeleteBackup
        Also delete every recovery point of this server (soft delete: recoverable for 14 days).
    .PARAMETER Passphrase
        This server's passphrase. If omitted, -PassphraseFile, else $env:AZBACKUP_PASSPHRASE.
    .PARAMETER PassphraseFile
        A file holding the passphrase (readable by its owner only; one trailing newline is ignored).
    .PARAMETER CacheDirectory
        The cache location this server used, when it is not the default.
    .EXAMPLE
        Unregister-AzBackupServer -WhatIf

        Says how many recovery points and which policies unregistering would touch.
    .EXAMPLE
        Unregister-AzBackupServer -PassphraseFile /root/azbackup-passphrase.txt -Confirm:$false

        Unregisters this server; its recovery points stay restorable with -Server from another server.
    .EXAMPLE
        Unregister-AzBackupServer -DeleteBackup -PassphraseFile /root/azbackup-passphrase.txt

        Unregisters and deletes all of its recovery points (after asking); they can be brought back for
        14 days: Get-AzRecoveryPoint -Server <ID> -Deleted | Restore-AzRecoveryPoint.
    .OUTPUTS
        AzBackup.UnregisteredServer
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.UnregisteredServer')]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [switch]$DeleteBackup,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [ValidateNotNullOrEmpty()]
        [string]$CacheDirectory
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -CacheDirectory $CacheDirectory
        if ($DeleteBackup) { $arguments.deleteBackup = $true }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $secretFiles = @{ passphrase = $PassphraseFile }
        # The engine counts the points and policies first (and checks the passphrase), so the question names them.
        $preview = Invoke-AzBackupEngine -Command 'server.unregister' -Arguments ($arguments + @{ whatIf = $true }) -Secrets $secrets -SecretFiles $secretFiles -Caller $PSCmdlet -Output Result -SuppressWarnings
        if ($null -eq $preview) { return }
        $policies = if ($preview.PoliciesRemoved) { "; remove its policies $(@($preview.PoliciesRemoved) -join ', ') and their schedules" } else { '' }
        $what = if ($DeleteBackup) {
            "Unregister$policies; delete its $($preview.PointsDeleted) recovery point(s) (recoverable for 14 days with Restore-AzRecoveryPoint -Server $($preview.ServerId))"
        } else {
            "Unregister$policies; keep its $($preview.PointsKept) recovery point(s) in the vault"
        }
        if ($PSCmdlet.ShouldProcess("server $($preview.Hostname) ($($preview.ServerId)) of vault $($preview.Vault)", $what)) {
            $removed = Invoke-AzBackupEngine -Command 'server.unregister' -Arguments $arguments -Secrets $secrets -SecretFiles $secretFiles -Caller $PSCmdlet -Output Result
            if ($removed -and $script:UseTaskScheduler) { foreach ($name in @($removed.PoliciesRemoved)) { Unregister-AzBackupPolicyTask -Name $name } }
            $removed
        }
    }
}
