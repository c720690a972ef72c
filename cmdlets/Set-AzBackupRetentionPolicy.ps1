function Set-AzBackupRetentionPolicy {
    <#
    .SYNOPSIS
        Sets the retention policy of a policy object and passes the policy on.
    .DESCRIPTION
        Changes the policy object only. Set-AzBackupPolicy saves it, and asks first (saying how many
        points will go) when the shorter retention expires recovery points.
    .PARAMETER Policy
        The policy (New-AzBackupPolicy or Get-AzBackupPolicy), from the pipeline.
    .PARAMETER RetentionPolicy
        A retention policy made by New-AzBackupRetentionPolicy.
    .EXAMPLE
        Get-AzBackupPolicy files | Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7) | Set-AzBackupPolicy

        Keeps a week of daily points from now on; Set-AzBackupPolicy says how many older points go.

    .EXAMPLE
        Set-AzBackupRetentionPolicy -Policy $policy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 30 -RetentionMonthlyPolicy -MonthDaysOfMonth Last -MonthTimesOfDay 21:00 -RetentionMonths 12) | Out-Null

        Adds a year of month-end points to a policy object.
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
        [PSTypeName('AzBackup.RetentionPolicy')]$RetentionPolicy
    )
    process {
        Assert-AzBackupPolicyObject -Caller $PSCmdlet -Policy $Policy
        $Policy.RetentionPolicy = $RetentionPolicy
        $Policy
    }
}
