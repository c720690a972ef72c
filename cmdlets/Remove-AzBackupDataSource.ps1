function Remove-AzBackupDataSource {
    <#
    .SYNOPSIS
        Stops protecting a data source in its protection group; its recovery points stay.
    .DESCRIPTION
        Takes the data source out of the group: no run backs it up or copies it online any more, and no
        retention expires its points, which stay in the vaults (Remove-AzRecoveryPoint removes them). The
        data source may then join another group. AZB_DATASOURCE_NOT_FOUND (with the group's data sources)
        or AZB_GROUP_NOT_FOUND when it is not there.
    .PARAMETER ProtectionGroup
        The group (alias Group: binds from AzBackup.DataSource objects).
    .PARAMETER DataSource
        The data source's name, <member>:<path> or <member>:<stream name> (alias Name: binds from
        AzBackup.DataSource objects).
    .EXAMPLE
        Remove-AzBackupDataSource -ProtectionGroup web -DataSource web01:/srv/www

        Asks, then stops protecting /srv/www of web01.
    .EXAMPLE
        (Get-AzBackupProtectionGroup web).DataSources | Where-Object Member -EQ web02 | Remove-AzBackupDataSource -Confirm:$false

        Stops protecting every data source of member web02 in the group web, without asking.
    .OUTPUTS
        AzBackup.RemovedDataSource
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.RemovedDataSource')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('Group')]
        [ValidateNotNullOrEmpty()]
        [string]$ProtectionGroup,

        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)]
        [Alias('Name')]
        [ValidateNotNullOrEmpty()]
        [string]$DataSource
    )
    process {
        if ($PSCmdlet.ShouldProcess("data source $DataSource", "Remove it from protection group $ProtectionGroup; keep its recovery points")) {
            Invoke-AzBackupEngine -Command 'group.remove-source' -Arguments @{ group = $ProtectionGroup; dataSource = $DataSource } -Caller $PSCmdlet -Output Result
        }
    }
}
