function Get-AzBackupProtectionGroup {
    <#
    .SYNOPSIS
        Shows protection groups and, per data source, its newest disk and online points, sizes against
        the limits and the last error.
    .DESCRIPTION
        Reads the groups and their status files in the AzBackup home: no passphrase, no vault access.
        Each AzBackup.ProtectionGroup has the short-term objective and schedule, the online settings
        (Online is $null until Enable-AzBackupOnlineProtection), the next run and the last run and online
        copy, and DataSources: one AzBackup.DataSource each, with

        - DiskPoint (Id, Time, SizeBytes) and DiskPoints against MaxDiskPoints (64 for files; $null for
          streams, which only the retention range limits);
        - OnlinePoint and OnlinePoints (at most the group's Online.MaxPoints);
        - SizeBytes (the plain bytes of the newest point) against SizeLimitBytes (Online.MaxSizeGB; the
          environment variable AZBACKUP_BYTES_PER_GB scales a GB for tests) and OverSizeLimit;
        - LastError (Code, Message, Time, Phase Disk or Online), $null after a success.

        AZB_GROUP_NOT_FOUND for a -Name that is not a group.
    .PARAMETER Name
        Only this group (from the pipeline too).
    .EXAMPLE
        Get-AzBackupProtectionGroup

        Every group, with its data sources and their newest points.
    .EXAMPLE
        (Get-AzBackupProtectionGroup web).DataSources | Format-Table

        The report of each data source of the group web: newest disk and online points, sizes against the
        limits, last error.
    .EXAMPLE
        Get-AzBackupProtectionGroup | ForEach-Object DataSources | Where-Object LastError

        Every data source whose last backup or online copy failed.
    .OUTPUTS
        AzBackup.ProtectionGroup
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.ProtectionGroup')]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('ProtectionGroup')]
        [ValidateNotNullOrEmpty()]
        [string]$Name
    )
    process {
        $arguments = @{}
        if ($Name) { $arguments.name = $Name }
        Invoke-AzBackupEngine -Command 'group.get' -Arguments $arguments -Caller $PSCmdlet -Output Items
    }
}
