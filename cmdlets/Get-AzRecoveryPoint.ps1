function Get-AzRecoveryPoint {
    <#
    .SYNOPSIS
        Lists the recovery points of a server, oldest first (with -Deleted, the soft-deleted ones).
    .DESCRIPTION
        Returns one object per recovery point: its ID, server, time, the sources it holds, its tags and
        the statistics of the backup that made it. The points are read from the vault and opened with
        the server's passphrase. Pipe them to Get-AzRecoverableItem to browse their contents, or to
        Start-AzRecovery to restore them.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name
        (an AzBackup.Server or AzBackup.RecoveryPoint from the pipeline).
    .PARAMETER Server
        Server whose points to list: its ID, an ID prefix of at least 8 characters, or its host name.
        Default: this server. Another server's points need that server's passphrase. Binds by property name (ServerId).
    .PARAMETER ProtectionGroup
        The recovery points of a protection group (New-AzBackupProtectionGroup): those in its disk vault,
        or with -Online in its Azure vault, that a data source of the group made. Not with -Vault or
        -Server: the group names its vaults. Binds by property name (alias Group, from
        AzBackup.DataSource objects).
    .PARAMETER DataSource
        With -ProtectionGroup: only this data source's points (<member>:<path> or <member>:<stream name>;
        AZB_DATASOURCE_NOT_FOUND when the group has none of that name). Binds by property name.
    .PARAMETER Online
        With -ProtectionGroup: the online points, in the group's Azure vault (AZB_ONLINE_NOT_ENABLED
        without online protection). They restore as the disk ones do: pipe them to Start-AzRecovery.
    .PARAMETER Path
        Only points whose backed-up sources contain this path (a file or folder of the server; a
        relative path is resolved against the current location). Position 0: Get-AzRecoveryPoint /etc.
    .PARAMETER After
        Only points made at or after this time.
    .PARAMETER Before
        Only points made at or before this time.
    .PARAMETER Tag
        Only points with this tag.
    .PARAMETER Deleted
        List the soft-deleted points instead: those removed, or expired by retention, in the past 14
        days. Each shows when it was deleted, why, and until when Restore-AzRecoveryPoint can bring it
        back (PurgeAfter). After that, the next Remove-AzBackupUnusedData deletes it and its data.
    .PARAMETER Passphrase
        The server's passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Get-AzRecoveryPoint -Passphrase $passphrase

        Lists every recovery point of this server.
    .EXAMPLE
        Get-AzRecoveryPoint -After (Get-Date).AddDays(-7) -Tag nightly | Select-Object -Last 1

        The newest nightly recovery point of the past week.
    .EXAMPLE
        Get-AzRecoveryPoint -Vault /mnt/backup/vault -Server srv02 -Passphrase $srv02Passphrase -Path /srv/data

        Lists the points of another server that hold /srv/data.
    .EXAMPLE
        Get-AzRecoveryPoint -ProtectionGroup web -DataSource web01:/srv/www -Online | Select-Object -Last 1 | Start-AzRecovery -ComputerName web01 -Target /srv/restore

        Restores the newest online point of web01's /srv/www into /srv/restore on web01 itself.
    .EXAMPLE
        Get-AzRecoveryPoint -Deleted | Where-Object Time -ge (Get-Date).AddDays(-2) | Restore-AzRecoveryPoint

        Brings back the deleted points made in the past two days.
    .OUTPUTS
        AzBackup.RecoveryPoint (with -Deleted: also AzBackup.DeletedRecoveryPoint)
    #>
    [CmdletBinding(DefaultParameterSetName = 'Vault')]
    [OutputType('AzBackup.RecoveryPoint')]
    param(
        [Parameter(ParameterSetName = 'Vault', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ParameterSetName = 'Vault', ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [Parameter(Mandatory, ParameterSetName = 'ProtectionGroup', ValueFromPipelineByPropertyName)]
        [Alias('Group')]
        [ValidateNotNullOrEmpty()]
        [string]$ProtectionGroup,

        [Parameter(ParameterSetName = 'ProtectionGroup', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$DataSource,

        [Parameter(ParameterSetName = 'ProtectionGroup')]
        [switch]$Online,

        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]$Path,

        [datetime]$After,

        [datetime]$Before,

        [ValidateNotNullOrEmpty()]
        [string]$Tag,

        [switch]$Deleted,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        if ($ProtectionGroup) { $arguments.group = $ProtectionGroup }
        if ($DataSource) { $arguments.dataSource = $DataSource }
        if ($Online) { $arguments.online = $true }
        if ($Path) { $arguments.path = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path) }
        if ($PSBoundParameters.ContainsKey('After')) { $arguments.after = $After.ToUniversalTime().ToString('o', [cultureinfo]::InvariantCulture) }
        if ($PSBoundParameters.ContainsKey('Before')) { $arguments.before = $Before.ToUniversalTime().ToString('o', [cultureinfo]::InvariantCulture) }
        if ($Tag) { $arguments.tag = $Tag }
        if ($Deleted) { $arguments.deleted = $true }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        Invoke-AzBackupEngine -Command 'points' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Items | ForEach-Object {
            # Their own view (when deleted, why, until when recoverable); still RecoveryPoint objects.
            if ($Deleted) { $_.PSObject.TypeNames.Insert(0, 'AzBackup.DeletedRecoveryPoint') }
            $_
        }
    }
}
