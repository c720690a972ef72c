function Remove-AzBackupProtectionGroup {
    <#
    .SYNOPSIS
        Removes a protection group and its schedule; its recovery points stay.
    .DESCRIPTION
        Stops the group's scheduled runs (the systemd timer or cron file) and deletes the group from the
        AzBackup home. Its short-term and online recovery points are kept, and no group expires them any
        more: Remove-AzRecoveryPoint removes them. Its data sources may then join another group.
        AZB_GROUP_NOT_FOUND when there is no such group.
    .PARAMETER Name
        The group, by name or from the pipeline (Get-AzBackupProtectionGroup).
    .EXAMPLE
        Remove-AzBackupProtectionGroup -Name web

        Asks, then removes the group web; its points stay.
    .EXAMPLE
        Get-AzBackupProtectionGroup test-* | Remove-AzBackupProtectionGroup -Confirm:$false

        Removes every group whose name starts with test- without asking.
    .OUTPUTS
        AzBackup.RemovedProtectionGroup
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.RemovedProtectionGroup')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('ProtectionGroup')]
        [ValidateNotNullOrEmpty()]
        [string]$Name
    )
    process {
        if ($PSCmdlet.ShouldProcess("protection group $Name", 'Remove the protection group and its schedule; keep its recovery points')) {
            Invoke-AzBackupEngine -Command 'group.remove' -Arguments @{ name = $Name } -Caller $PSCmdlet -Output Result
        }
    }
}
