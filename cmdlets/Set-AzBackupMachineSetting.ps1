function Set-AzBackupMachineSetting {
    <#
    .SYNOPSIS
        Sets how fast this server may upload to cloud (Azure Blob) vaults, by work hours, and its proxy.
    .DESCRIPTION
        Like Set-OBMachineSetting of the MARS agent: during work hours on work days uploads are held to
        -WorkHourBandwidth bytes per second, at other times to -NonWorkHourBandwidth. -NoThrottle removes
        the limits. The settings live in the AzBackup configuration home and apply to every backup to an
        Azure Blob vault on this server; vaults in local or mounted folders are not throttled.
        -ProxyServer and -ProxyPort send every request to cloud vaults through an HTTP(S) proxy; -NoProxy
        removes it (HTTPS_PROXY / HTTP_PROXY in the environment still apply). -ProxyCredential stores the
        proxy password in an owner-only file of the configuration home (on Linux protected by file
        permissions, like a .netrc), so scheduled backups can use it; $env:AZBACKUP_PROXY_PASSWORD, when
        set, is used instead. The password is never shown again, nor sent anywhere but to the proxy.
        -UploadConcurrency sets how many packs go up to a cloud vault at once (default 4, at most 32; each
        holds up to 16 MiB of memory); it can be given alone or with any other setting.
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
    .PARAMETER ProxyServer
        Host name or address of the HTTP(S) proxy.
    .PARAMETER ProxyPort
        Port of the proxy.
    .PARAMETER ProxyUserName
        User name for the proxy, when its password comes from $env:AZBACKUP_PROXY_PASSWORD at run time.
    .PARAMETER ProxyCredential
        User name and password for the proxy; the password is stored owner-only on this server.
    .PARAMETER UploadConcurrency
        Packs uploaded at once to cloud vaults, 1-32 (default 4).
    .PARAMETER CacheLocation
        Move the cache (the file-metadata database that spares re-reading unchanged files, and the packs
        staged before upload) to this folder. The cache moves with it, so the next backup is not slower;
        refused while a job runs. Before each backup the free space there must be at least 10% of the
        data set (else AZB_CACHE_FULL says how much is needed). $env:AZBACKUP_CACHE wins over it.
    .PARAMETER MetricsFile
        After every policy run, write Prometheus metrics of every policy (last success, last status,
        bytes added, duration, points kept, overdue) to this file, for node_exporter's textfile collector.
    .PARAMETER NoMetricsFile
        Stop writing the metrics file.
    .PARAMETER NoProxy
        Remove the proxy setting.
    .PARAMETER SnapshotCreateCommand
        The snapshot provider's create command (absolute path of an executable), for volume managers
        AzBackup has no snapshot method of its own for (LVM, ZFS, a SAN). Run once per source with the
        source as its argument (and SNAPSHOT_SOURCE, SNAPSHOT_MOUNT_POINT in its environment), it
        snapshots what holds the source and prints as its last line {"path": "...", "id": "..."}: where
        the source can be read in the snapshot. Set, it is used for every source of every file backup of
        this machine. See the README, "Snapshot providers", and about_AzBackup.
    .PARAMETER SnapshotRemoveCommand
        The snapshot provider's remove command: run with the source, the snapshot path and the id (and
        SNAPSHOT_SOURCE, SNAPSHOT_PATH, SNAPSHOT_ID) after the read, also when the backup failed or was
        stopped. Given together with -SnapshotCreateCommand.
    .PARAMETER SnapshotTimeoutSeconds
        Seconds each snapshot command may run (1-3600, default 120); after that it is killed with what
        it started, and the snapshot counts as failed (AZB_SNAPSHOT_FAILED).
    .PARAMETER NoSnapshotProvider
        Remove the snapshot provider.
    .EXAMPLE
        Set-AzBackupMachineSetting -CacheLocation /var/cache/azbackup

        Moves the cache to a bigger disk.
    .EXAMPLE
        Set-AzBackupMachineSetting -SnapshotCreateCommand /usr/local/sbin/azb-snap-create -SnapshotRemoveCommand /usr/local/sbin/azb-snap-remove

        Backups read LVM snapshots made by the admin's commands (Start-AzBackup -Snapshot Auto, the default).
    .EXAMPLE
        Set-AzBackupMachineSetting -MetricsFile /var/lib/prometheus/node-exporter/azbackup.prom

        Lets node_exporter's textfile collector report every policy's last success and status.
    .EXAMPLE
        Set-AzBackupMachineSetting -WorkDay Monday, Tuesday, Wednesday, Thursday, Friday -StartWorkHour 8 -EndWorkHour 18 -WorkHourBandwidth 2MB -NonWorkHourBandwidth 50MB

        Slows uploads down to 2 MiB/s during the working day.
    .EXAMPLE
        Set-AzBackupMachineSetting -NoThrottle

        Uploads as fast as the network allows.
    .EXAMPLE
        Set-AzBackupMachineSetting -ProxyServer proxy.contoso.com -ProxyPort 8080

        Sends cloud-vault traffic through the company proxy.
    .EXAMPLE
        Set-AzBackupMachineSetting -ProxyServer proxy.contoso.com -ProxyPort 8080 -ProxyCredential (Get-Credential CONTOSO\svc-backup)
        Uses an authenticating proxy; the password is kept for scheduled backups.
    .EXAMPLE
        Set-AzBackupMachineSetting -UploadConcurrency 8
        Uploads eight packs at once on a fast link.
    .EXAMPLE
        Invoke-Command -ComputerName srv01, srv02 -ScriptBlock { Set-AzBackupMachineSetting -WorkHourBandwidth 1MB -NonWorkHourBandwidth 20MB }

        Sets the same limits on several servers.
    .OUTPUTS
        AzBackup.MachineSetting
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'UploadConcurrency')]
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
        [switch]$NoThrottle,

        [Parameter(Mandatory, ParameterSetName = 'Proxy')]
        [ValidateNotNullOrEmpty()]
        [string]$ProxyServer,

        [Parameter(Mandatory, ParameterSetName = 'Proxy')]
        [ValidateRange(1, 65535)]
        [int]$ProxyPort,

        [Parameter(ParameterSetName = 'Proxy')]
        [ValidateNotNullOrEmpty()]
        [string]$ProxyUserName,
        [Parameter(ParameterSetName = 'Proxy')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $ProxyCredential,

        [Parameter(Mandatory, ParameterSetName = 'NoProxy')]
        [switch]$NoProxy,

        [Parameter(Mandatory, ParameterSetName = 'Cache')]
        [ValidateNotNullOrEmpty()]
        [string]$CacheLocation,

        [Parameter(Mandatory, ParameterSetName = 'Metrics')]
        [ValidateNotNullOrEmpty()]
        [string]$MetricsFile,

        [Parameter(Mandatory, ParameterSetName = 'NoMetrics')]
        [switch]$NoMetricsFile,

        [Parameter(ParameterSetName = 'Snapshot')]
        [ValidateNotNullOrEmpty()]
        [string]$SnapshotCreateCommand,

        [Parameter(ParameterSetName = 'Snapshot')]
        [ValidateNotNullOrEmpty()]
        [string]$SnapshotRemoveCommand,

        [Parameter(ParameterSetName = 'Snapshot')]
        [ValidateRange(1, 3600)]
        [int]$SnapshotTimeoutSeconds,

        [Parameter(Mandatory, ParameterSetName = 'NoSnapshot')]
        [switch]$NoSnapshotProvider,

        [Parameter(Mandatory, ParameterSetName = 'UploadConcurrency')]
        [Parameter(ParameterSetName = 'Throttle')]
        [Parameter(ParameterSetName = 'NoThrottle')]
        [Parameter(ParameterSetName = 'Proxy')]
        [Parameter(ParameterSetName = 'NoProxy')]
        [ValidateRange(1, 32)]
        [int]$UploadConcurrency
    )
    $arguments = @{}
    $secrets = @{}
    $what = @()
    if ($PSBoundParameters.ContainsKey('UploadConcurrency')) {
        $arguments.uploadConcurrency = $UploadConcurrency
        $what += "Upload $UploadConcurrency packs at once to cloud vaults"
    }
    if ($PSCmdlet.ParameterSetName -eq 'UploadConcurrency') {
        # Only the upload concurrency.
    } elseif ($PSCmdlet.ParameterSetName -eq 'Cache') {
        $arguments.cacheLocation = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($CacheLocation)
        $what += "Move the cache to $($arguments.cacheLocation)"
    } elseif ($PSCmdlet.ParameterSetName -eq 'Metrics') {
        $arguments.metricsFile = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($MetricsFile)
        $what += "Write policy metrics to $($arguments.metricsFile)"
    } elseif ($NoMetricsFile) {
        $arguments.noMetricsFile = $true
        $what += 'Stop writing policy metrics'
    } elseif ($PSCmdlet.ParameterSetName -eq 'Proxy') {
        if ($ProxyUserName -and $ProxyCredential) {
            $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_ARGS_INVALID' -Message 'Give -ProxyUserName or -ProxyCredential, not both.' -Category InvalidArgument -Target 'ProxyCredential'))
        }
        $arguments.proxyServer = $ProxyServer
        $arguments.proxyPort = $ProxyPort
        if ($ProxyUserName) { $arguments.proxyUsername = $ProxyUserName }
        if ($ProxyCredential) {
            $arguments.proxyUsername = $ProxyCredential.UserName
            $secrets.proxyPassword = $ProxyCredential.Password
        }
        $what += "Use the proxy ${ProxyServer}:$ProxyPort for cloud vaults"
    } elseif ($NoProxy) {
        $arguments.noProxy = $true
        $what += 'Remove the proxy setting'
    } elseif ($PSCmdlet.ParameterSetName -eq 'Snapshot') {
        if ($SnapshotCreateCommand) { $arguments.snapshotCreateCommand = $SnapshotCreateCommand }
        if ($SnapshotRemoveCommand) { $arguments.snapshotRemoveCommand = $SnapshotRemoveCommand }
        if ($PSBoundParameters.ContainsKey('SnapshotTimeoutSeconds')) { $arguments.snapshotTimeoutSeconds = $SnapshotTimeoutSeconds }
        $what += 'Set the snapshot provider'
    } elseif ($NoSnapshotProvider) {
        $arguments.noSnapshotProvider = $true
        $what += 'Remove the snapshot provider'
    } elseif ($NoThrottle) {
        $arguments.noThrottle = $true
        $what += 'Remove upload throttling'
    } else {
        if ($WorkDay) { $arguments.workDays = @($WorkDay | ForEach-Object { $_.ToString() }) }
        if ($PSBoundParameters.ContainsKey('StartWorkHour')) { $arguments.startWorkHour = $StartWorkHour }
        if ($PSBoundParameters.ContainsKey('EndWorkHour')) { $arguments.endWorkHour = $EndWorkHour }
        $arguments.workHourBandwidth = $WorkHourBandwidth
        $arguments.nonWorkHourBandwidth = $NonWorkHourBandwidth
        $what += "Throttle uploads to $WorkHourBandwidth B/s in work hours, $NonWorkHourBandwidth B/s otherwise"
    }
    if ($PSCmdlet.ShouldProcess('this server', ($what -join '; '))) {
        Invoke-AzBackupEngine -Command 'settings.set' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Result
    }
}
