function New-AzBackupPolicy {
    <#
    .SYNOPSIS
        Makes a new, empty backup policy object (nothing is saved until Set-AzBackupPolicy).
    .DESCRIPTION
        A policy says what is backed up (file specs, or the output of a command), when (a schedule of
        up to 3 times a day on chosen days), and how long its recovery points are kept (a retention
        policy of up to 30 daily days, with optional weekly, monthly and yearly tiers). Compose it with
        Add-AzBackupFileSpec, Set-AzBackupSchedule and Set-AzBackupRetentionPolicy, then save and
        activate it with Set-AzBackupPolicy. A server may have several policies, each with its own name.
    .PARAMETER Name
        The policy's name: letters, digits, - and _ (up to 64). Its recovery points carry it.
    .PARAMETER Vault
        The vault its backups go to (default: the only vault this server is registered with).
    .PARAMETER Snapshot
        How its runs read the file specs: Auto (the default; a snapshot where one can be made, else live
        reads), Required (a run without a snapshot fails with AZB_SNAPSHOT_UNAVAILABLE or
        AZB_SNAPSHOT_FAILED) or None (live reads), as Start-AzBackup -Snapshot. Scheduled runs start the
        engine directly, so on Windows they make no VSS shadow copy (not yet). See about_AzBackup.
    .PARAMETER FromCommand
        Back up the standard output of this native command (a database dump) instead of files.
    .PARAMETER ArgumentList
        Arguments of -FromCommand, passed as they are.
    .PARAMETER StreamName
        File name the command's output is stored under in each recovery point.
    .PARAMETER PreCommand
        Program (on the PATH, or a path) each run of the policy runs before anything is read, to quiesce
        an application; a failure stops that run (AZB_PRE_COMMAND_FAILED). No shell is involved.
    .PARAMETER PreArgumentList
        Arguments of -PreCommand, passed as they are.
    .PARAMETER PreCommandTimeoutSeconds
        Seconds -PreCommand may run (1 to 86400; default 600) before its process group is killed.
    .PARAMETER PostCommand
        Program each run runs after the data is read, and always once the pre command has started; a
        failure is the warning AZB_POST_COMMAND_FAILED.
    .PARAMETER PostArgumentList
        Arguments of -PostCommand, passed as they are.
    .PARAMETER PostCommandTimeoutSeconds
        Seconds -PostCommand may run (1 to 86400; default 600) before its process group is killed.
    .EXAMPLE
        $policy = New-AzBackupPolicy -Name files

        An empty policy named files.
    .EXAMPLE
        New-AzBackupPolicy -Name files |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec /srv/data -Exclude '*.tmp') |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday, Thursday -TimesOfDay 21:00) |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 30) |
            Set-AzBackupPolicy -StorePassphrase

        A whole policy in one pipeline, saved and scheduled, with the passphrase stored for its runs.
    .EXAMPLE
        New-AzBackupPolicy -Name db -FromCommand pg_dump -ArgumentList mydb -StreamName mydb.sql

        A policy that backs up a database dump.
    .EXAMPLE
        New-AzBackupPolicy -Name app -PreCommand /usr/local/sbin/app-quiesce -PostCommand /usr/local/sbin/app-resume

        A policy whose runs quiesce an application while its files are read (add its file specs).
    .OUTPUTS
        AzBackup.Policy
    #>
    [CmdletBinding(DefaultParameterSetName = 'Files')]
    [OutputType('AzBackup.Policy')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')]
        [string]$Name,

        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ParameterSetName = 'Files')]
        [ValidateSet('Auto', 'Required', 'None')]
        [string]$Snapshot = 'Auto',

        [Parameter(Mandatory, ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$FromCommand,

        [Parameter(ParameterSetName = 'Command')]
        [AllowEmptyCollection()]
        [string[]]$ArgumentList = @(),

        [Parameter(Mandatory, ParameterSetName = 'Command')]
        [ValidatePattern('^[^/\\]+$')]
        [string]$StreamName,

        [ValidateNotNullOrEmpty()]
        [string]$PreCommand,

        [string[]]$PreArgumentList,

        [int]$PreCommandTimeoutSeconds,

        [ValidateNotNullOrEmpty()]
        [string]$PostCommand,

        [string[]]$PostArgumentList,

        [int]$PostCommandTimeoutSeconds
    )
    $data = [pscustomobject]@{ Name = $Name; State = 'New'; Snapshot = $Snapshot }
    if ($Vault) { $data | Add-Member Vault (New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault).vault }
    if ($PSCmdlet.ParameterSetName -eq 'Command') {
        $data | Add-Member Command ([pscustomobject]@{ command = $FromCommand; arguments = $ArgumentList; streamName = $StreamName })
    }
    $pre = New-AzBackupHookCommand -Caller $PSCmdlet -Phase Pre -Command $PreCommand -ArgumentList $PreArgumentList `
        -TimeoutSeconds $(if ($PSBoundParameters.ContainsKey('PreCommandTimeoutSeconds')) { $PreCommandTimeoutSeconds })
    $post = New-AzBackupHookCommand -Caller $PSCmdlet -Phase Post -Command $PostCommand -ArgumentList $PostArgumentList `
        -TimeoutSeconds $(if ($PSBoundParameters.ContainsKey('PostCommandTimeoutSeconds')) { $PostCommandTimeoutSeconds })
    if ($pre) { $data | Add-Member PreCommand $pre }
    if ($post) { $data | Add-Member PostCommand $post }
    ConvertTo-AzBackupPolicyObject -Data $data
}
