function Start-AzBackupProtectionGroup {
    <#
    .SYNOPSIS
        Runs a protection group now: backs up its data sources to the disk vault, then, when due or with
        -Online, copies the newest points online.
    .DESCRIPTION
        What the group's schedule runs, on demand. Each data source is fetched from its member over SSH
        (files as a tar stream, a command's output as one file) into a recovery point of its own, then
        retention runs per data source. One data source failing (a member that does not answer, a host
        key that changed, tar or the command exiting non-zero mid-stream) writes no point for it, does
        not stop the others, and is a warning naming the member and the code; the job then ends
        CompletedWithWarnings. The online copy follows when online protection is enabled and a time of
        day has passed since the last copy, or always with -Online.

        Output: one AzBackup.RecoveryPoint per data source backed up (ProtectionGroup and DataSource set),
        then one AzBackup.ProtectionGroupRun: per data source its Status (Completed or Failed), PointId,
        Code and Message; the points expired; and Online, the AzBackup.OnlineCopy (per data source Copied,
        UpToDate, NoPoint, Refused with AZB_ONLINE_SIZE_LIMIT, Skipped or Failed, with packs and bytes
        copied) or $null.
    .PARAMETER Name
        The group, by name or from the pipeline.
    .PARAMETER DataSource
        Only this data source (its name, <member>:<path> or <member>:<stream name>).
    .PARAMETER Online
        Copy online after the backups whether or not a copy is due (AZB_ONLINE_NOT_ENABLED without online
        protection).
    .PARAMETER Passphrase
        The server's passphrase (else $env:AZBACKUP_PASSPHRASE, else the stored one).
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (owner-only; the engine reads it).
    .EXAMPLE
        Start-AzBackupProtectionGroup -Name web

        Backs up every data source of the group web now.
    .EXAMPLE
        $run = Start-AzBackupProtectionGroup -Name sql -Online | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.ProtectionGroupRun' }
        $run.DataSources | Where-Object Status -EQ Failed

        Backs up and copies online now, then lists the data sources that failed, with their codes.
    .OUTPUTS
        AzBackup.RecoveryPoint, AzBackup.ProtectionGroupRun
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.RecoveryPoint', 'AzBackup.ProtectionGroupRun')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('ProtectionGroup')]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [ValidateNotNullOrEmpty()]
        [string]$DataSource,

        [switch]$Online,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = @{ name = $Name }
        if ($DataSource) { $arguments.dataSource = $DataSource }
        if ($Online) { $arguments.online = $true }
        $what = "Back up $(if ($DataSource) { "data source $DataSource" } else { 'its data sources' }) now$(if ($Online) { ', then copy them online' })"
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        if ($PSCmdlet.ShouldProcess("protection group $Name", $what)) {
            Invoke-AzBackupEngine -Command 'group.run' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet
        }
    }
}
