function Get-AzBackupMachineSetting {
    <#
    .SYNOPSIS
        Shows this server's AzBackup machine settings (upload throttling).
    .DESCRIPTION
        Returns whether uploads to cloud vaults are throttled, the work days and hours, both rates in bytes
        per second, and the rate in force now (0 when uploads are not limited).
    .EXAMPLE
        Get-AzBackupMachineSetting

        Shows the throttling in force on this server.
    .EXAMPLE
        Invoke-Command -ComputerName srv01, srv02 -ScriptBlock { Get-AzBackupMachineSetting } | Select-Object PSComputerName, Throttled, CurrentBandwidth

        Compares the settings of several servers.
    .OUTPUTS
        AzBackup.MachineSetting
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.MachineSetting')]
    param()
    Invoke-AzBackupEngine -Command 'settings.show' -Caller $PSCmdlet -Output Result
}
