function Suspend-AzBackupPolicy {
    <#
    .SYNOPSIS
        Stops a policy's scheduled runs; the policy and its recovery points stay.
    .DESCRIPTION
        The schedule files (systemd units or the cron.d file) are removed on suspend and written again
        on resume. Retention is enforced only by runs, so nothing expires while a policy is suspended.
    .PARAMETER Name
        The policy, by name or from the pipeline.
    .EXAMPLE
        Suspend-AzBackupPolicy -Name files

        No scheduled run of files until Resume-AzBackupPolicy.
    .EXAMPLE
        Get-AzBackupPolicy | Suspend-AzBackupPolicy -WhatIf

        Shows which policies would be suspended.
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
        if ($PSCmdlet.ShouldProcess("policy $Name", 'Suspend its scheduled runs')) {
            Invoke-AzBackupEngine -Command 'policy.suspend' -Arguments @{ name = $Name } -Caller $PSCmdlet -Output Result | ConvertTo-AzBackupPolicyObject | Sync-AzBackupPolicyTask -Caller $PSCmdlet
        }
    }
}
