function Get-AzBackupPolicy {
    <#
    .SYNOPSIS
        Shows this server's backup policies, their next run and the result of their last run.
    .DESCRIPTION
        Overdue is true (and a warning says so) for an active policy that has not succeeded within
        twice its longest interval between runs. Pipe a policy to Set-AzBackupSchedule,
        Set-AzBackupRetentionPolicy, Add-AzBackupFileSpec and back to Set-AzBackupPolicy to change it.
    .PARAMETER Name
        Only this policy (AZB_POLICY_NOT_FOUND when there is none).
    .EXAMPLE
        Get-AzBackupPolicy

        Every policy, with Name, State, NextRun, LastRun and Overdue.
    .EXAMPLE
        Get-AzBackupPolicy | Where-Object Overdue

        Policies that have not succeeded in time.
    .OUTPUTS
        AzBackup.Policy
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Policy')]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Name
    )
    process {
        $arguments = @{}
        if ($Name) { $arguments.name = $Name }
        Invoke-AzBackupEngine -Command 'policy.get' -Arguments $arguments -Caller $PSCmdlet -Output Items | ConvertTo-AzBackupPolicyObject
    }
}
