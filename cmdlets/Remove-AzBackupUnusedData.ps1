function Remove-AzBackupUnusedData {
    <#
    .SYNOPSIS
        Deletes the data in the vault that no recovery point of the server needs any more.
    .DESCRIPTION
        After recovery points are removed (Remove-AzRecoveryPoint), their data stays in the vault, since
        it may be shared with other points. This cmdlet finds the packs (the files that hold the data)
        that no remaining recovery point uses and deletes them, together with packs left by interrupted
        backups; a pack that still holds any data a point needs is kept whole.
        Removed and expired points are soft-deleted for 14 days: until then their data is kept (they
        can be brought back with Restore-AzRecoveryPoint). The first run after their 14 days deletes
        them for good, and the data only they used. It takes an exclusive
        lock: no backup or restore of the server can run meanwhile. Runs as a job (see Get-AzBackupJob).
        Asks for confirmation unless -Confirm:$false.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name
        (an AzBackup.Server or AzBackup.RecoveryPoint from the pipeline).
    .PARAMETER Server
        Server whose unused data to delete: its ID, an ID prefix of at least 8 characters, or its host
        name. Default: this server. Binds by property name (ServerId).
    .PARAMETER MaxUnusedPercent
        Packs that are only partly used are rewritten (their used data copied into new packs, then the
        old packs deleted) when more than this share of the kept packs is unused: 0 to 100, default 5.
        100 never repacks. New packs are uploaded and indexed before any old pack is deleted.
    .PARAMETER MaxRepackSize
        Rewrite at most this many bytes of packs in one run (e.g. 2GB), to bound the time and traffic.
    .PARAMETER Passphrase
        The server's passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Remove-AzBackupUnusedData -Confirm:$false

        Frees the space of this server's removed recovery points and shows what was deleted.
    .EXAMPLE
        Remove-AzBackupUnusedData -Vault /mnt/backup/vault -Server srv02 -Passphrase $srv02Passphrase

        Deletes the unused data of server srv02, after confirmation.
    .EXAMPLE
        Remove-AzBackupUnusedData -WhatIf

        Says how many packs and MiB a prune would delete now (a dry run that deletes nothing).
    .OUTPUTS
        AzBackup.PruneResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.PruneResult')]
    param(
        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [ValidateRange(0, 100)]
        [double]$MaxUnusedPercent,

        [ValidateRange(0, [long]::MaxValue)]
        [long]$MaxRepackSize,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        if ($PSBoundParameters.ContainsKey('MaxUnusedPercent')) { $arguments.maxUnusedPercent = $MaxUnusedPercent }
        if ($PSBoundParameters.ContainsKey('MaxRepackSize')) { $arguments.maxRepackBytes = $MaxRepackSize }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $who = if ($Server) { "server $Server" } else { 'this server' }
        $where = if ($arguments.vault) { " in $($arguments.vault)" } else { '' }
        $action = 'Delete the data no recovery point needs'
        if ($WhatIfPreference) {
            # -WhatIf: the engine's dry run says what would go (ShouldProcess then deletes nothing).
            $dryRun = $arguments.Clone()
            $dryRun.dryRun = $true
            $plan = Invoke-AzBackupEngine -Command 'prune' -Arguments $dryRun -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
            if (-not $plan) { return }
            $action = "Delete $($plan.PacksDeleted) pack(s) ($([math]::Round($plan.BytesFreed / 1MB, 1)) MiB) that no recovery point needs, keep $($plan.PacksKept)"
            if ($plan.PacksRepacked -gt 0) { $action += " (rewriting $($plan.PacksRepacked) partly used pack(s) first)" }
            if ($plan.PointsPurged -gt 0) { $action += "; delete for good $($plan.PointsPurged) recovery point(s) deleted more than 14 days ago" }
            if ($plan.PointsRecoverable -gt 0) { $action += "; keep the data of $($plan.PointsRecoverable) deleted point(s) that can still be brought back" }
        }
        if ($PSCmdlet.ShouldProcess("$who$where", $action)) {
            Invoke-AzBackupEngine -Command 'prune' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
        }
    }
}
