function Repair-AzBackupVault {
    <#
    .SYNOPSIS
        Repairs a server's part of the vault after damage: rebuilds the index, salvages damaged packs,
        and rewrites recovery points whose files lost data, marking those files.
    .DESCRIPTION
        Test-AzBackupVault records the damage it proves (a missing, cut or unreadable pack; with -ReadData,
        blobs that fail authentication). From then on no backup reuses that data: a file that needs it is
        read and stored again. Repair then works in three steps, done in this order (all three unless
        -Index, -Packs or -Points names some):

        Index   reads the footer of every pack and writes one new index for all readable packs, replacing
                every index file (after a damaged or lost index file).
        Packs   copies what is still readable out of each damaged pack into new packs, then deletes the
                damaged packs and the damage records. Data with an intact copy elsewhere (a backup stored
                it again) is not copied.
        Points  rewrites each recovery point that still needs data no pack holds: a file that lost data
                keeps its name and what remains of it and is marked damaged (Start-AzRecovery names it
                with warning AZB_RESTORE_FILE_DAMAGED); a folder whose listing was lost comes back empty.
                The new point keeps the old one's time, policy and retention, gets the tag 'repaired'
                and replaces it.

        Run a backup before -Points when the source still has the files: it stores their data again, and
        the points that share it then need no rewrite. It takes an exclusive lock and runs as a job (see
        Get-AzBackupJob). High impact: asks for confirmation unless -Confirm:$false. -WhatIf runs the
        engine's dry run and says what would be repaired.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name.
    .PARAMETER Server
        Server to repair: its ID, an ID prefix of at least 8 characters, or its host name. Default: this
        server. Rewriting points signs them, so -Points works only for this server's own namespace.
    .PARAMETER Index
        Rebuild the index from the packs' footers.
    .PARAMETER Packs
        Salvage the damaged packs that checks recorded.
    .PARAMETER Points
        Rewrite the recovery points whose files lost data.
    .PARAMETER Passphrase
        The server's passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Test-AzBackupVault -ReadData; Start-AzBackup -Policy (Get-AzBackupPolicy Nightly); Repair-AzBackupVault -Confirm:$false

        Finds and records damage, stores again what the source still has, then repairs the rest.
    .EXAMPLE
        Repair-AzBackupVault -Index -WhatIf

        Says how many packs a rebuilt index would list, changing nothing.
    .OUTPUTS
        AzBackup.RepairedFile (each file or folder marked damaged), AzBackup.RepairResult
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.RepairedFile', 'AzBackup.RepairResult')]
    param(
        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [switch]$Index,

        [switch]$Packs,

        [switch]$Points,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        $parts = @(if ($Index) { 'index' }; if ($Packs) { 'packs' }; if ($Points) { 'points' })
        if ($parts.Count -gt 0) { $arguments.parts = $parts }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $who = if ($Server) { "server $Server" } else { 'this server' }
        $where = if ($arguments.vault) { " in $($arguments.vault)" } else { '' }
        $named = if ($parts.Count -gt 0) { $parts -join ', ' } else { 'index, packs, points' }
        $action = "Repair ($named)"
        if ($WhatIfPreference) {
            # -WhatIf: the engine's dry run says what would change (ShouldProcess then changes nothing).
            $dryRun = $arguments.Clone()
            $dryRun.dryRun = $true
            $plan = Invoke-AzBackupEngine -Command 'repair' -Arguments $dryRun -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result -WarningAction SilentlyContinue
            if (-not $plan) { return }
            $said = @()
            if ($plan.Parts -contains 'index') { $said += "index $($plan.PacksIndexed) pack(s) in a new index replacing $($plan.IndexFilesReplaced) index file(s)" }
            if ($plan.Parts -contains 'packs') { $said += "salvage $($plan.PacksRepaired) damaged pack(s) ($($plan.BlobsLost) blob(s) cannot be salvaged)" }
            if ($plan.Parts -contains 'points') { $said += "rewrite $($plan.PointsRepaired) recovery point(s), marking $($plan.FilesDamaged) file(s) and $($plan.TreesLost) folder(s) as damaged" }
            $action = 'Repair: ' + ($said -join '; ')
        }
        if ($PSCmdlet.ShouldProcess("$who$where", $action)) {
            Invoke-AzBackupEngine -Command 'repair' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output All
        }
    }
}
