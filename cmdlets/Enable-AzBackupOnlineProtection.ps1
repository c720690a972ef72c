function Enable-AzBackupOnlineProtection {
    <#
    .SYNOPSIS
        Turns on online protection for a protection group: its short-term points are copied to an Azure
        vault and kept there by an online retention.
    .DESCRIPTION
        As DPM's Set-DPMProtectionType -LongTerm Online with -OnlineRetentionRange: this server's
        namespace in the group's disk vault is replicated into the Azure vault, under the same server
        identity and master key (a new key file wrapped by the same passphrase; FORMAT.md, replicated
        namespaces). Nothing is re-chunked or re-encrypted: each online copy copies, byte for byte, the
        packs, index files and points the Azure vault lacks, packs first and the point last, so a copy
        cut at any moment leaves no point whose data is missing and the next one resumes.

        The first group run at or after each -OnlineTimesOfDay (default 21:00, after the disk backups)
        copies the newest disk point of each data source; Start-AzBackupProtectionGroup -Online copies
        now. Online retention is enforced on the Azure copy on its own, per data source: points older
        than -OnlineRetentionDays (at most 120) or beyond -MaxOnlinePoints (at most 120) expire. A data
        source whose newest point holds more than -MaxOnlineSizeGB (at most 850) is not copied
        (AZB_ONLINE_SIZE_LIMIT in its report); its short-term protection goes on.

        Errors: AZB_ONLINE_RETENTION_INVALID (121 days, 121 points, 851 GB; nothing is touched),
        AZB_ONLINE_CERT_NOT_UPLOADED (this server's certificate was never uploaded to the Azure vault:
        Add-AzBackupVaultCertificate), AZB_ARGS_INVALID (a vault that is not an Azure Blob container),
        AZB_GROUP_NOT_FOUND, AZB_PASSPHRASE_REQUIRED / AZB_PASSPHRASE_WRONG. The storage credentials come
        from the environment as for every Azure vault (AZBACKUP_STORAGE_CONNECTION_STRING, _KEY, _SAS).
        Calling it again changes the online settings and keeps the copy.
    .PARAMETER ProtectionGroup
        The group, by name or from the pipeline.
    .PARAMETER Vault
        The Azure vault: the container URL, e.g. https://contoso.blob.core.windows.net/backup.
    .PARAMETER OnlineRetentionDays
        How many days online points are kept (1-120).
    .PARAMETER MaxOnlinePoints
        At most this many online points per data source (1-120, default 120).
    .PARAMETER MaxOnlineSizeGB
        A data source larger than this (1-850 GB, default 850) is not copied online.
    .PARAMETER OnlineTimesOfDay
        The times of day (TimeSpan or 'HH:mm') after which the next group run copies online. Default 21:00.
    .PARAMETER Passphrase
        The server's passphrase (else $env:AZBACKUP_PASSPHRASE): the new key file in the Azure vault is
        wrapped with it.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (owner-only; the engine reads it).
    .EXAMPLE
        Enable-AzBackupOnlineProtection -ProtectionGroup web -Vault https://contoso.blob.core.windows.net/backup -OnlineRetentionDays 90 -Passphrase $passphrase

        Copies the group web's points to the Azure vault every day after 21:00 and keeps them 90 days.
    .EXAMPLE
        Get-AzBackupProtectionGroup sql | Enable-AzBackupOnlineProtection -Vault $azureVault -OnlineRetentionDays 30 -MaxOnlinePoints 30 -MaxOnlineSizeGB 200 -OnlineTimesOfDay 23:30

        Online protection for the group sql: 30 days, at most 30 points and 200 GB per data source,
        copied after 23:30.
    .OUTPUTS
        AzBackup.ProtectionGroup
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.ProtectionGroup')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$ProtectionGroup,

        [Parameter(Mandatory, Position = 1)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(Mandatory)]
        [int]$OnlineRetentionDays,

        [int]$MaxOnlinePoints,

        [int]$MaxOnlineSizeGB,

        [ValidateCount(1, 24)]
        [timespan[]]$OnlineTimesOfDay,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        # The limits are the engine's to check: its refusals carry the codes (AZB_ONLINE_RETENTION_INVALID).
        $arguments = @{ group = $ProtectionGroup; vault = $Vault; onlineRetentionDays = $OnlineRetentionDays }
        if ($PSBoundParameters.ContainsKey('MaxOnlinePoints')) { $arguments.maxOnlinePoints = $MaxOnlinePoints }
        if ($PSBoundParameters.ContainsKey('MaxOnlineSizeGB')) { $arguments.maxOnlineSizeGB = $MaxOnlineSizeGB }
        if ($OnlineTimesOfDay) { $arguments.onlineTimesOfDay = @(ConvertTo-AzBackupTimeText $OnlineTimesOfDay) }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        if ($PSCmdlet.ShouldProcess("protection group $ProtectionGroup", "Copy its recovery points to the Azure vault $Vault and keep them $OnlineRetentionDays day(s) there")) {
            Invoke-AzBackupEngine -Command 'online.enable' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
        }
    }
}
