function Resume-AzBackupPolicy {
    <#
    .SYNOPSIS
        Starts a suspended policy's scheduled runs again.
    .DESCRIPTION
        The schedule files (systemd units or the cron.d file) are removed on suspend and written again
        on resume. Retention is enforced only by runs, so nothing expires while a policy is suspended.
    .PARAMETER Name
        The policy, by name or from the pipeline.
    .EXAMPLE
        Get-AzBackupPolicy | Where-Object State -eq Suspended | Resume-AzBackupPolicy

        Resumes every suspended policy.
    .EXAMPLE
        Resume-AzBackupPolicy -Name files

        Writes the schedule of files again; its next run is shown.
    .OUTPUTS
        AzBackup.Policy
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.Policy')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Name
    )
    process {
        if ($PSCmdlet.ShouldProcess("policy $Name", 'Resume its scheduled runs')) {
            Invoke-AzBackupEngine -Command 'policy.resume' -Arguments @{ name = $Name } -Caller $PSCmdlet -Output Result | ConvertTo-AzBackupPolicyObject | Sync-AzBackupPolicyTask -Caller $PSCmdlet
        }
    }
}
