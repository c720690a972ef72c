function Set-AzBackupMachineSetting {
    <#
    .SYNOPSIS
        Sets how fast this server may upload to cloud (Azure Blob) vaults, by work hours.
    .DESCRIPTION
        Like Set-OBMachineSetting of the MARS agent: during work hours on work days uploads are held to
        -WorkHourBandwidth bytes per second, at other times to -NonWorkHourBandwidth. -NoThrottle removes
        the limits. The settings live in the AzBackup configuration home and apply to every backup to an
        Azure Blob vault on this server; vaults in local or mounted folders are not throttled.
    .PARAMETER WorkDay
        Work days. Default: Monday to Friday.
    .PARAMETER StartWorkHour
        First hour of the working day, 0-23. Default 9.
    .PARAMETER EndWorkHour
        Hour the working day ends, 1-24. Default 18.
    .PARAMETER WorkHourBandwidth
        Upload rate in bytes per second during work hours (at least 65536).
    .PARAMETER NonWorkHourBandwidth
        Upload rate in bytes per second outside work hours (at least 65536).
    .PARAMETER NoThrottle
        Remove throttling.
    .EXAMPLE
        Set-AzBackupMachineSetting -WorkDay Monday, Tuesday, Wednesday, Thursday, Friday -StartWorkHour 8 -EndWorkHour 18 -WorkHourBandwidth 2MB -NonWorkHourBandwidth 50MB

        Slows uploads down to 2 MiB/s during the working day.
    .EXAMPLE
        Set-AzBackupMachineSetting -NoThrottle

        Uploads as fast as the network allows.
    .EXAMPLE
        Invoke-Command -ComputerName srv01, srv02 -ScriptBlock { Set-AzBackupMachineSetting -WorkHourBandwidth 1MB -NonWorkHourBandwidth 20MB }

        Sets the same limits on several servers.
    .OUTPUTS
        AzBackup.MachineSetting
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Throttle')]
    [OutputType('AzBackup.MachineSetting')]
    param(
        [Parameter(ParameterSetName = 'Throttle')]
        [System.DayOfWeek[]]$WorkDay,

        [Parameter(ParameterSetName = 'Throttle')]
        [ValidateRange(0, 23)]
        [int]$StartWorkHour,

        [Parameter(ParameterSetName = 'Throttle')]
        [ValidateRange(1, 24)]
        [int]$EndWorkHour,

        [Parameter(Mandatory, ParameterSetName = 'Throttle')]
        [long]$WorkHourBandwidth,

        [Parameter(Mandatory, ParameterSetName = 'Throttle')]
        [long]$NonWorkHourBandwidth,

        [Parameter(Mandatory, ParameterSetName = 'NoThrottle')]
        [switch]$NoThrottle
    )
    $arguments = @{}
    if ($NoThrottle) {
        $arguments.noThrottle = $true
        $what = 'Remove upload throttling'
    } else {
        if ($WorkDay) { $arguments.workDays = @($WorkDay | ForEach-Object { $_.ToString() }) }
        if ($PSBoundParameters.ContainsKey('StartWorkHour')) { $arguments.startWorkHour = $StartWorkHour }
        if ($PSBoundParameters.ContainsKey('EndWorkHour')) { $arguments.endWorkHour = $EndWorkHour }
        $arguments.workHourBandwidth = $WorkHourBandwidth
        $arguments.nonWorkHourBandwidth = $NonWorkHourBandwidth
        $what = "Throttle uploads to $WorkHourBandwidth B/s in work hours, $NonWorkHourBandwidth B/s otherwise"
    }
    if ($PSCmdlet.ShouldProcess('this server', $what)) {
        Invoke-AzBackupEngine -Command 'settings.set' -Arguments $arguments -Caller $PSCmdlet -Output Result
    }
}
