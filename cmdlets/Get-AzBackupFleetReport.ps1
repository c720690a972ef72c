function Get-AzBackupFleetReport {
    <#
    .SYNOPSIS
        Reports on every server of a vault: when it last backed up, how much it stores, and why it needs a look.
    .DESCRIPTION
        Reads every server namespace in the vault and returns one AzBackup.FleetServer per server, worst
        first: its last recovery point and its age in hours, the number of points, the bytes stored and
        how fast they grow (bytes per day over the last 7 and 30 days), its locks, its certificate's expiry,
        and a Status (Critical, Warning, OK) with a Reason and the Codes behind it:

        AZB_BACKUP_OVERDUE (last point older than -MaxAgeHours), AZB_BACKUP_NEVER (no point yet; Critical
        once the server registered more than -MaxAgeHours ago), AZB_SERVER_RECORD_DAMAGED (server.json not
        JSON or with wrong fields), AZB_CERT_EXPIRED, AZB_CERT_EXPIRING (within 30 days),
        AZB_CERT_NOT_IN_VAULT, AZB_REGISTRATION_MISMATCH (the registration proof does not verify),
        AZB_LOCK_STALE, AZB_LOCK_UNREADABLE, and AZB_LOCK_HELD (a backup or prune is running: not a problem).

        No passphrase is needed, and this machine need not be registered: the report reads only what the
        vault shows to anyone who can read it (object names, sizes and times, server records,
        certificates, locks). It writes nothing to the vault. A damaged server record or lock object gives
        that server's row its code and a warning; the other servers are still reported.
    .PARAMETER Vault
        Vault location: a folder or an Azure Blob container URL. Default: the vault this server is
        registered with (when it is registered with exactly one). Binds by property name.
    .PARAMETER MaxAgeHours
        A server whose last recovery point is older than this many hours is Critical. Default 24.
    .PARAMETER Html
        Also write the report as one self-contained HTML page (a table worst first, a chart of each
        server's point age and one of the vault's growth; nothing is fetched from anywhere) to this file,
        replacing it, and return the file (a FileInfo) instead of the server objects.
    .EXAMPLE
        Get-AzBackupFleetReport -Vault https://backupacct.blob.core.windows.net/vault | Where-Object Status -ne 'OK'

        Which servers have not backed up since yesterday, and why.
    .EXAMPLE
        Get-AzBackupFleetReport -Vault /mnt/backup/vault -MaxAgeHours 48 -Html /var/www/html/backup.html

        Writes the page a web server shows, e.g. from a scheduled task every hour.
    .EXAMPLE
        Get-AzBackupFleetReport -Vault /mnt/backup/vault | Sort-Object StoredBytes -Descending | Select-Object Hostname, StoredBytes, BytesPerDay7

        The servers that store the most, and how fast they grow.
    .OUTPUTS
        AzBackup.FleetServer, or System.IO.FileInfo with -Html
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.FleetServer')]
    [OutputType([System.IO.FileInfo])]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [double]$MaxAgeHours,

        [ValidateNotNullOrEmpty()]
        [string]$Html
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault
        if ($PSBoundParameters.ContainsKey('MaxAgeHours')) { $arguments.maxAgeHours = $MaxAgeHours }
        if (-not $Html) {
            Invoke-AzBackupEngine -Command 'fleet.report' -Arguments $arguments -Caller $PSCmdlet -Output Items
            return
        }
        $arguments.html = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Html)
        $summary = Invoke-AzBackupEngine -Command 'fleet.report' -Arguments $arguments -Caller $PSCmdlet -Output Result
        if ($summary -and $summary.Html) { Get-Item -LiteralPath $summary.Html }
    }
}
