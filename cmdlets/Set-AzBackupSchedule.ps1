function Set-AzBackupSchedule {
    <#
    .SYNOPSIS
        Sets the schedule of a policy object and passes the policy on.
    .DESCRIPTION
        Changes the policy object only; Set-AzBackupPolicy saves it and registers the schedule with
        the OS scheduler.
    .PARAMETER Policy
        The policy (New-AzBackupPolicy or Get-AzBackupPolicy), from the pipeline.
    .PARAMETER Schedule
        A schedule made by New-AzBackupSchedule.
    .EXAMPLE
        Get-AzBackupPolicy files | Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Sunday -TimesOfDay 02:00) | Set-AzBackupPolicy

        Moves the policy files to Sundays at 02:00.

    .EXAMPLE
        Set-AzBackupSchedule -Policy $policy -Schedule (New-AzBackupSchedule -DaysOfWeek Monday, Wednesday, Friday -TimesOfDay 12:00, 23:00) | Out-Null

        Sets the schedule of a policy object.
    .OUTPUTS
        AzBackup.Policy
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Policy')]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [object]$Policy,

        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNull()]
        [PSTypeName('AzBackup.Schedule')]$Schedule
    )
    process {
        Assert-AzBackupPolicyObject -Caller $PSCmdlet -Policy $Policy
        $Policy.Schedule = $Schedule
        $Policy
    }
}
