# The work of the class-based DSC resources (AzBackupRegistration, AzBackupPolicy, AzBackupMachineSetting in
# AzBackup.psm1): each Get/Test/Set there calls one function here, and these call the public cmdlets, so a
# DSC run changes exactly what the cmdlets would. Every call stops at the first error (-ErrorAction Stop):
# its ErrorRecord, with the engine's AZB_* code as ErrorId, is what the DSC run reports. Passphrases arrive
# as PSCredential passwords (SecureString) and go on to -Passphrase; nothing here writes them anywhere.

function Get-AzBackupDscSecret {
    <# The passphrase (SecureString) of a resource's Passphrase credential, or $null. The user name is not used. #>
    param([AllowNull()][pscredential]$Credential)
    if ($null -ne $Credential) { return $Credential.Password }
}

function Get-AzBackupDscRegistrationState {
    <# Whether this server is registered with the vault (no passphrase needed): Ensure, ServerId, RegisteredHostName. #>
    param([Parameter(Mandatory)][string]$Vault)
    $self = @(Get-AzBackupServer -Vault $Vault -ErrorAction Stop | Where-Object ThisServer)
    if ($self.Count -eq 0) { return @{ Ensure = 'Absent'; ServerId = ''; RegisteredHostName = '' } }
    @{ Ensure = 'Present'; ServerId = $self[0].ServerId; RegisteredHostName = $self[0].Hostname }
}

function Test-AzBackupDscRegistration {
    param([Parameter(Mandatory)][object]$Resource)
    $state = Get-AzBackupDscRegistrationState -Vault $Resource.Vault
    $state.Ensure -eq "$($Resource.Ensure)"
}

function Set-AzBackupDscRegistration {
    <#
        Present: registers this server (Register-AzBackupServer) unless it is registered already. Absent:
        unregisters it (Unregister-AzBackupServer: its points stay in the vault), which needs its passphrase:
        one that does not open its key is refused by the engine (AZB_PASSPHRASE_WRONG) before anything changes.
    #>
    param([Parameter(Mandatory)][object]$Resource)
    if (Test-AzBackupDscRegistration -Resource $Resource) { return }
    $passphrase = Get-AzBackupDscSecret $Resource.Passphrase
    $secret = @{}
    if ($null -ne $passphrase) { $secret.Passphrase = $passphrase }
    if ($Resource.PassphraseFile) { $secret.PassphraseFile = $Resource.PassphraseFile }
    if ("$($Resource.Ensure)" -eq 'Absent') {
        $null = Unregister-AzBackupServer -Vault $Resource.Vault @secret -Confirm:$false -ErrorAction Stop
        return
    }
    if (-not $Resource.Certificate) {
        throw (New-AzBackupErrorRecord -Code 'AZB_ARGS_INVALID' -Message "AzBackupRegistration for $($Resource.Vault): registering needs Certificate (the .pfx or PEM key of a certificate uploaded to the vault)." -Category InvalidArgument -Target 'Certificate')
    }
    $register = @{ Vault = $Resource.Vault; Certificate = $Resource.Certificate }
    if ($Resource.CertificatePassword) { $register.CertificatePassword = $Resource.CertificatePassword.Password }
    if ($Resource.HostName) { $register.HostName = $Resource.HostName }
    $null = Register-AzBackupServer @register @secret -Confirm:$false -ErrorAction Stop
}

function Get-AzBackupDscPolicyState {
    <# The saved policy as the resource's properties, or Ensure Absent. -Policy: the saved policy already read (or $null). #>
    param([Parameter(Mandatory)][string]$Name, [object]$Policy = (Get-AzBackupPolicy -ErrorAction Stop | Where-Object Name -EQ $Name))
    if (-not $Policy) { return @{ Ensure = 'Absent'; State = ''; PassphraseStored = $false } }
    @{
        Ensure           = 'Present'
        FileSpec         = [string[]]@($Policy.FileSpecs | ForEach-Object FileSpec)
        Exclude          = [string[]]@($Policy.FileSpecs | ForEach-Object { $_.Exclude } | Where-Object { $_ } | Sort-Object -Unique)
        DaysOfWeek       = [string[]]@($Policy.Schedule.DaysOfWeek | ForEach-Object { "$_" })
        TimesOfDay       = [string[]]@(ConvertTo-AzBackupTimeText $Policy.Schedule.TimesOfDay)
        RetentionDays    = [int]$Policy.RetentionPolicy.RetentionDays
        State            = "$($Policy.State)"
        PassphraseStored = [bool]$Policy.PassphraseStored
    }
}

function Test-AzBackupDscSameSet {
    <# Whether two lists hold the same values, in any order and case. #>
    param([AllowNull()][object[]]$Left, [AllowNull()][object[]]$Right)
    $a = @($Left | ForEach-Object { "$_".ToLowerInvariant() } | Sort-Object -Unique)
    $b = @($Right | ForEach-Object { "$_".ToLowerInvariant() } | Sort-Object -Unique)
    ($a -join "`n") -eq ($b -join "`n")
}

function Test-AzBackupDscPolicy {
    <# In the desired state when the policy exists (or not) and every property the resource gives matches. #>
    param([Parameter(Mandatory)][object]$Resource, [hashtable]$State = (Get-AzBackupDscPolicyState -Name $Resource.Name))
    $state = $State
    if ("$($Resource.Ensure)" -eq 'Absent') { return $state.Ensure -eq 'Absent' }
    if ($state.Ensure -eq 'Absent') { return $false }
    if ($Resource.FileSpec -and -not (Test-AzBackupDscSameSet $Resource.FileSpec $state.FileSpec)) { return $false }
    if ($null -ne $Resource.Exclude -and -not (Test-AzBackupDscSameSet $Resource.Exclude $state.Exclude)) { return $false }
    if ($Resource.DaysOfWeek -and -not (Test-AzBackupDscSameSet $Resource.DaysOfWeek $state.DaysOfWeek)) { return $false }
    if ($Resource.TimesOfDay -and -not (Test-AzBackupDscSameSet @(ConvertTo-AzBackupTimeText ([timespan[]]$Resource.TimesOfDay)) $state.TimesOfDay)) { return $false }
    if ($Resource.RetentionDays -and $Resource.RetentionDays -ne $state.RetentionDays) { return $false }
    # A passphrase in the configuration means: stored for unattended runs. Whether it is the right one is
    # checked when it is stored (a wrong one is never stored).
    if (($Resource.Passphrase -or $Resource.PassphraseFile) -and -not $state.PassphraseStored) { return $false }
    $state.State -eq 'Active'
}

function Set-AzBackupDscPolicy {
    <#
        Present: the saved policy (or a new one) with the resource's file specs, schedule and retention, saved
        by Set-AzBackupPolicy -Force (the configuration is the admin's decision, also when it shortens
        retention); with a passphrase, -StorePassphrase. The engine opens the key with that passphrase before
        it saves anything, so a wrong one (AZB_PASSPHRASE_WRONG) leaves the saved policy as it was.
        Absent: Remove-AzBackupPolicy (its points stay).
    #>
    param([Parameter(Mandatory)][object]$Resource)
    $saved = Get-AzBackupPolicy -ErrorAction Stop | Where-Object Name -EQ $Resource.Name
    if (Test-AzBackupDscPolicy -Resource $Resource -State (Get-AzBackupDscPolicyState -Name $Resource.Name -Policy $saved)) { return }
    if ("$($Resource.Ensure)" -eq 'Absent') {
        $null = Remove-AzBackupPolicy -Name $Resource.Name -Confirm:$false -ErrorAction Stop
        return
    }
    $policy = if ($saved) { $saved } else { New-AzBackupPolicy -Name $Resource.Name -ErrorAction Stop }
    if ($Resource.FileSpec -or $null -ne $Resource.Exclude) {
        # The specs are replaced whole: the configuration's paths (else the saved ones) with its exclusions (else the saved ones).
        $paths = if ($Resource.FileSpec) { $Resource.FileSpec } else { @($policy.FileSpecs | ForEach-Object FileSpec) }
        $exclude = if ($null -ne $Resource.Exclude) { $Resource.Exclude } else { @($policy.FileSpecs | ForEach-Object { $_.Exclude } | Where-Object { $_ } | Sort-Object -Unique) }
        if (@($policy.FileSpecs).Count -gt 0) { $policy = $policy | Remove-AzBackupFileSpec -FileSpec @($policy.FileSpecs) -ErrorAction Stop }
        $spec = @{ FileSpec = $paths }
        if ($exclude) { $spec.Exclude = $exclude }
        $policy = $policy | Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec @spec -ErrorAction Stop) -ErrorAction Stop
    }
    if ($Resource.DaysOfWeek -or $Resource.TimesOfDay) {
        $days = if ($Resource.DaysOfWeek) { $Resource.DaysOfWeek } else { $policy.Schedule.DaysOfWeek }
        $times = if ($Resource.TimesOfDay) { [timespan[]]$Resource.TimesOfDay } else { $policy.Schedule.TimesOfDay }
        $policy = $policy | Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek $days -TimesOfDay $times -ErrorAction Stop) -ErrorAction Stop
    }
    if ($Resource.RetentionDays) {
        $policy = $policy | Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays $Resource.RetentionDays -ErrorAction Stop) -ErrorAction Stop
    }
    $save = @{ Force = $true; Confirm = $false; ErrorAction = 'Stop' }
    $passphrase = Get-AzBackupDscSecret $Resource.Passphrase
    if ($null -ne $passphrase) { $save.Passphrase = $passphrase }
    if ($Resource.PassphraseFile) { $save.PassphraseFile = $Resource.PassphraseFile }
    if ($save.Passphrase -or $save.PassphraseFile) { $save.StorePassphrase = $true }
    $result = $policy | Set-AzBackupPolicy @save
    # A suspended policy stays suspended when saved; the configuration wants it running.
    if ("$($result.State)" -eq 'Suspended') { $null = Resume-AzBackupPolicy -Name $Resource.Name -Confirm:$false -ErrorAction Stop }
}

function Get-AzBackupDscMachineSettingState {
    <# The machine settings the resource manages, as its properties. #>
    $s = Get-AzBackupMachineSetting -ErrorAction Stop
    @{
        UploadConcurrency    = [int]$s.UploadConcurrency
        WorkDay              = [string[]]@($s.WorkDays)
        StartWorkHour        = if ($s.Throttled) { [int]$s.StartWorkHour } else { $null }
        EndWorkHour          = if ($s.Throttled) { [int]$s.EndWorkHour } else { $null }
        WorkHourBandwidth    = if ($s.Throttled) { [long]$s.WorkHourBandwidth } else { $null }
        NonWorkHourBandwidth = if ($s.Throttled) { [long]$s.NonWorkHourBandwidth } else { $null }
        NoThrottle           = -not $s.Throttled
        ProxyServer          = "$($s.ProxyServer)"
        ProxyPort            = if ($s.ProxyServer) { [int]$s.ProxyPort } else { $null }
        NoProxy              = -not $s.ProxyServer
        MetricsFile          = "$($s.MetricsFile)"
        NoMetricsFile        = -not $s.MetricsFile
    }
}

function Get-AzBackupDscMachineSettingDrift {
    <# The groups of settings (UploadConcurrency, Throttle, Proxy, Metrics) where the resource differs from the machine. #>
    param([Parameter(Mandatory)][object]$Resource, [Parameter(Mandatory)][hashtable]$State)
    $drift = @()
    if ($Resource.UploadConcurrency -and $Resource.UploadConcurrency -ne $State.UploadConcurrency) { $drift += 'UploadConcurrency' }
    if ($Resource.NoThrottle) {
        if (-not $State.NoThrottle) { $drift += 'Throttle' }
    } elseif ($null -ne $Resource.WorkHourBandwidth -or $null -ne $Resource.NonWorkHourBandwidth -or $Resource.WorkDay -or $null -ne $Resource.StartWorkHour -or $null -ne $Resource.EndWorkHour) {
        $differs = $State.NoThrottle -or
            ($null -ne $Resource.WorkHourBandwidth -and $Resource.WorkHourBandwidth -ne $State.WorkHourBandwidth) -or
            ($null -ne $Resource.NonWorkHourBandwidth -and $Resource.NonWorkHourBandwidth -ne $State.NonWorkHourBandwidth) -or
            ($Resource.WorkDay -and -not (Test-AzBackupDscSameSet $Resource.WorkDay $State.WorkDay)) -or
            ($null -ne $Resource.StartWorkHour -and $Resource.StartWorkHour -ne $State.StartWorkHour) -or
            ($null -ne $Resource.EndWorkHour -and $Resource.EndWorkHour -ne $State.EndWorkHour)
        if ($differs) { $drift += 'Throttle' }
    }
    if ($Resource.NoProxy) {
        if (-not $State.NoProxy) { $drift += 'Proxy' }
    } elseif ($Resource.ProxyServer -and ($Resource.ProxyServer -ne $State.ProxyServer -or ($null -ne $Resource.ProxyPort -and $Resource.ProxyPort -ne $State.ProxyPort))) { $drift += 'Proxy' }
    if ($Resource.NoMetricsFile) {
        if (-not $State.NoMetricsFile) { $drift += 'Metrics' }
    } elseif ($Resource.MetricsFile -and $Resource.MetricsFile -ne $State.MetricsFile) { $drift += 'Metrics' }
    $drift
}

function Test-AzBackupDscMachineSetting {
    param([Parameter(Mandatory)][object]$Resource)
    @(Get-AzBackupDscMachineSettingDrift -Resource $Resource -State (Get-AzBackupDscMachineSettingState)).Count -eq 0
}

function Set-AzBackupDscMachineSetting {
    <# One Set-AzBackupMachineSetting call per group that differs; unnamed throttle values keep their current ones. #>
    param([Parameter(Mandatory)][object]$Resource)
    $state = Get-AzBackupDscMachineSettingState
    $common = @{ Confirm = $false; ErrorAction = 'Stop' }
    switch (Get-AzBackupDscMachineSettingDrift -Resource $Resource -State $state) {
        'UploadConcurrency' { $null = Set-AzBackupMachineSetting -UploadConcurrency $Resource.UploadConcurrency @common }
        'Throttle' {
            if ($Resource.NoThrottle) { $null = Set-AzBackupMachineSetting -NoThrottle @common; continue }
            $throttle = @{}
            foreach ($name in 'WorkHourBandwidth', 'NonWorkHourBandwidth', 'StartWorkHour', 'EndWorkHour') {
                $value = if ($null -ne $Resource.$name) { $Resource.$name } else { $state[$name] }
                if ($null -ne $value) { $throttle[$name] = $value }
            }
            $days = if ($Resource.WorkDay) { $Resource.WorkDay } elseif (-not $state.NoThrottle) { $state.WorkDay }
            if ($days) { $throttle.WorkDay = [System.DayOfWeek[]]$days }
            $null = Set-AzBackupMachineSetting @throttle @common
        }
        'Proxy' {
            if ($Resource.NoProxy) { $null = Set-AzBackupMachineSetting -NoProxy @common; continue }
            $port = if ($null -ne $Resource.ProxyPort) { $Resource.ProxyPort } else { $state.ProxyPort }
            $null = Set-AzBackupMachineSetting -ProxyServer $Resource.ProxyServer -ProxyPort $port @common
        }
        'Metrics' {
            if ($Resource.NoMetricsFile) { $null = Set-AzBackupMachineSetting -NoMetricsFile @common; continue }
            $null = Set-AzBackupMachineSetting -MetricsFile $Resource.MetricsFile @common
        }
    }
}
