# The class-based DSC resources (AzBackupRegistration, AzBackupPolicy, AzBackupMachineSetting), their
# methods called directly, as the DSC engine would (PSDesiredStateConfiguration is not installed here; the
# classes do not need it): Test is false on drift, Set fixes it, Test is then true and a second Set changes
# nothing, Get reports the state. Real engine, real vault in a temp folder, cron files below a test root.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $env:AZBACKUP_UNIT_ROOT = Join-Path $root 'units'
    $env:AZBACKUP_SCHEDULER = 'cron'
    $script:homePath = New-TestHome -Root $root
    $script:vault = (New-AzBackupVault -Path (Join-Path $root 'vault') -ErrorAction Stop).Vault
    $script:pfxPassword = New-TestSecureString
    $certificate = New-AzBackupCertificate -Subject 'CN=dsc-srv' -OutputDirectory (New-Item -ItemType Directory -Path (Join-Path $root 'certs')).FullName -PfxPassword $pfxPassword -ErrorAction Stop
    $null = $certificate | Add-AzBackupVaultCertificate -Vault $vault -ErrorAction Stop
    $script:pfx = $certificate.PrivateKeyPath
    $script:passphraseText = 'DSC passphrase ' + [guid]::NewGuid().ToString('N').Substring(0, 12)
    $script:passphrase = [pscredential]::new('passphrase', (New-TestSecureString $passphraseText))
    $script:wrongPassphrase = [pscredential]::new('passphrase', (New-TestSecureString 'Not the passphrase of this server'))
    $script:data = New-Item -ItemType Directory -Path (Join-Path $root 'data')
    $script:etc = New-Item -ItemType Directory -Path (Join-Path $root 'etc')
    # The module's classes: the test reaches them through the module, as `using module AzBackup` would.
    $module = Get-Module AzBackup
    $script:NewResource = { param([string]$Type, [hashtable]$Properties) & $module { param($t, $p) ($t -as [type])::new() | ForEach-Object { foreach ($k in $p.Keys) { $_.$k = $p[$k] }; $_ } } $Type $Properties }
    # Every file the tests made, but the one meant to hold the passphrase for unattended runs (owner-only, by design: README "Policies").
    function script:Get-TestFileText { Get-ChildItem -Path $root -Recurse -File | Where-Object { $_.Name -notlike '*.passphrase' } | ForEach-Object { [System.IO.File]::ReadAllText($_.FullName) } }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'the module exports the DSC resources' {
    It 'names in DscResourcesToExport exactly the [DscResource()] classes of its root module, and the manifest stays valid' {
        # Test-ModuleManifest and Get-Module -ListAvailable leave ExportedDscResources empty in pwsh 7 on Linux
        # (without PSDesiredStateConfiguration); the manifest's list and the imported module's are compared instead.
        $path = Join-Path $PSScriptRoot '../module/AzBackup.psd1'
        { Test-ModuleManifest -Path $path -ErrorAction Stop } | Should -Not -Throw
        $declared = @((Import-PowerShellDataFile $path).DscResourcesToExport | Sort-Object)
        $classes = @((Get-Module AzBackup).ImplementingAssembly.GetTypes() | Where-Object { $_.GetCustomAttributes([System.Management.Automation.DscResourceAttribute], $false) } | ForEach-Object Name | Sort-Object)
        $declared | Should -Be @('AzBackupMachineSetting', 'AzBackupPolicy', 'AzBackupRegistration')
        $classes | Should -Be $declared
        (Get-Module AzBackup).ExportedDscResources | Sort-Object | Should -Be $declared
    }

    It 'marks each class [DscResource()] with one [DscProperty(Key)]' {
        foreach ($name in 'AzBackupRegistration', 'AzBackupPolicy', 'AzBackupMachineSetting') {
            $type = & (Get-Module AzBackup) { param($n) $n -as [type] } $name
            $type.GetCustomAttributes([System.Management.Automation.DscResourceAttribute], $false) | Should -Not -BeNullOrEmpty -Because $name
            $keys = @($type.GetProperties() | Where-Object { $_.GetCustomAttributes([System.Management.Automation.DscPropertyAttribute], $false).Key })
            $keys.Count | Should -Be 1 -Because "$name has one key"
            foreach ($method in 'Get', 'Test', 'Set') { $type.GetMethod($method) | Should -Not -BeNullOrEmpty }
        }
    }
}

Describe 'AzBackupRegistration, AzBackupPolicy, AzBackupMachineSetting' {
    BeforeEach { $env:AZBACKUP_HOME = $homePath; $env:AZBACKUP_PASSPHRASE = $null }

    It 'AzBackupRegistration: Test false before, Set registers, Test true, a second Set changes nothing, Get reports the server' {
        $registration = & $NewResource AzBackupRegistration @{ Vault = $vault; Certificate = $pfx; CertificatePassword = [pscredential]::new('pfx', $pfxPassword); Passphrase = $passphrase; HostName = 'dsc-srv' }
        $registration.Test() | Should -BeFalse
        $registration.Get().Ensure | Should -Be 'Absent'
        $registration.Set()
        $registration.Test() | Should -BeTrue
        $registration.Set()  # already registered: no AZB_SERVER_ALREADY_REGISTERED, nothing new
        $servers = @(Get-AzBackupServer -Vault $vault)
        $servers.Count | Should -Be 1
        $state = $registration.Get()
        $state.Ensure | Should -Be 'Present'
        $state.ServerId | Should -Be $servers[0].ServerId
        $state.RegisteredHostName | Should -Be 'dsc-srv'
        $state.Passphrase | Should -BeNullOrEmpty
        $state.CertificatePassword | Should -BeNullOrEmpty
    }

    It 'AzBackupPolicy: Test false while absent, Set saves it and stores the passphrase, Test true, Get reports it; drift is found and fixed' {
        $policy = & $NewResource AzBackupPolicy @{ Name = 'files'; FileSpec = @($data.FullName); Exclude = @('*.tmp'); DaysOfWeek = @('Monday', 'Thursday'); TimesOfDay = @('21:00'); RetentionDays = 30; Passphrase = $passphrase }
        $policy.Test() | Should -BeFalse
        $policy.Set()
        $policy.Test() | Should -BeTrue
        $state = $policy.Get()
        $state.Ensure | Should -Be 'Present'
        $state.FileSpec | Should -Be @($data.FullName)
        $state.Exclude | Should -Be @('*.tmp')
        $state.DaysOfWeek | Sort-Object | Should -Be @('Monday', 'Thursday')
        $state.TimesOfDay | Should -Be @('21:00')
        $state.RetentionDays | Should -Be 30
        $state.State | Should -Be 'Active'
        $state.PassphraseStored | Should -BeTrue
        $state.Passphrase | Should -BeNullOrEmpty
        Get-Content -Raw (Join-Path $env:AZBACKUP_UNIT_ROOT 'etc/cron.d/azbackup-policy-files') | Should -Match '(?m)^0 21 \* \* 1,4 root '

        # Drift made outside DSC: another schedule and another file spec.
        Get-AzBackupPolicy -Name files | Remove-AzBackupFileSpec -FileSpec $data.FullName | Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $etc.FullName) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Friday -TimesOfDay 03:00) | Set-AzBackupPolicy -Force -Confirm:$false
        $policy.Test() | Should -BeFalse
        $policy.Set()
        $policy.Test() | Should -BeTrue
        (Get-AzBackupPolicy -Name files).Schedule.DaysOfWeek | Sort-Object | Should -Be @('Monday', 'Thursday')
        $policy.Get().FileSpec | Should -Be @($data.FullName)

        # Exclusions alone: the saved paths stay, the exclusions change; the full configuration then drifts and is put back.
        $exclusions = & $NewResource AzBackupPolicy @{ Name = 'files'; Exclude = @('*.bak', '*.tmp') }
        $exclusions.Test() | Should -BeFalse
        $exclusions.Set()
        $exclusions.Test() | Should -BeTrue
        $exclusions.Get().FileSpec | Should -Be @($data.FullName)
        $policy.Test() | Should -BeFalse
        $policy.Set()
        $policy.Get().Exclude | Should -Be @('*.tmp')
    }

    It 'AzBackupPolicy: a Set with a passphrase that does not open the key fails with AZB_PASSPHRASE_WRONG and changes nothing' {
        $before = Get-Content -Raw -LiteralPath (Join-Path $homePath 'policies/files.json')
        $before | Should -Not -BeNullOrEmpty
        $other = & $NewResource AzBackupPolicy @{ Name = 'other'; FileSpec = @($etc.FullName); DaysOfWeek = @('Sunday'); TimesOfDay = @('04:00'); RetentionDays = 7; Passphrase = $wrongPassphrase }
        { $other.Set() } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Set-AzBackupPolicy'
        $other.Get().Ensure | Should -Be 'Absent'
        Test-Path (Join-Path $env:AZBACKUP_UNIT_ROOT 'etc/cron.d/azbackup-policy-other') | Should -BeFalse
        # The existing policy, drifted (7 days instead of 30), with the wrong passphrase: refused before it is saved.
        $drifted = & $NewResource AzBackupPolicy @{ Name = 'files'; RetentionDays = 7; Passphrase = $wrongPassphrase }
        $drifted.Test() | Should -BeFalse
        { $drifted.Set() } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Set-AzBackupPolicy'
        (Get-AzBackupPolicy -Name files).RetentionPolicy.RetentionDays | Should -Be 30
        Get-Content -Raw -LiteralPath (Join-Path $homePath 'policies/files.json') | Should -Be $before
        # Neither passphrase is written anywhere in clear: not the right one, not the wrong one.
        $text = (Get-TestFileText) -join "`n"
        $text | Should -Not -Match ([regex]::Escape($passphraseText))
        $text | Should -Not -Match 'Not the passphrase of this server'
    }

    It 'AzBackupPolicy Ensure Absent: Set removes the policy and its schedule; Test is then true' {
        $absent = & $NewResource AzBackupPolicy @{ Name = 'files'; Ensure = 'Absent' }
        $absent.Test() | Should -BeFalse
        $absent.Set()
        $absent.Test() | Should -BeTrue
        Get-AzBackupPolicy | Where-Object Name -EQ 'files' | Should -BeNullOrEmpty
        Test-Path (Join-Path $env:AZBACKUP_UNIT_ROOT 'etc/cron.d/azbackup-policy-files') | Should -BeFalse
    }

    It 'AzBackupMachineSetting: Test false on drift, Set fixes it, Test true, Get reports it; partial settings keep the rest; bad values are refused with their code' {
        $setting = & $NewResource AzBackupMachineSetting @{ IsSingleInstance = 'Yes'; UploadConcurrency = 6; WorkDay = @('Monday', 'Friday'); StartWorkHour = 8; EndWorkHour = 17; WorkHourBandwidth = 1MB; NonWorkHourBandwidth = 8MB; MetricsFile = (Join-Path $root 'azbackup.prom') }
        $setting.Test() | Should -BeFalse
        $setting.Set()
        $setting.Test() | Should -BeTrue
        $state = $setting.Get()
        $state.UploadConcurrency | Should -Be 6
        $state.WorkDay | Should -Be @('Monday', 'Friday')
        $state.StartWorkHour | Should -Be 8
        $state.WorkHourBandwidth | Should -Be 1MB
        $state.NoThrottle | Should -BeFalse
        $state.MetricsFile | Should -Be (Join-Path $root 'azbackup.prom')

        # Drift outside DSC: another rate. Only the rate is put back; the work hours are kept.
        $null = Set-AzBackupMachineSetting -WorkHourBandwidth 2MB -NonWorkHourBandwidth 8MB -StartWorkHour 8 -EndWorkHour 17 -WorkDay Monday, Friday -Confirm:$false
        $setting.Test() | Should -BeFalse
        $rateOnly = & $NewResource AzBackupMachineSetting @{ IsSingleInstance = 'Yes'; WorkHourBandwidth = 1MB }
        $rateOnly.Set()
        $setting.Test() | Should -BeTrue

        $none = & $NewResource AzBackupMachineSetting @{ IsSingleInstance = 'Yes'; NoThrottle = $true; NoMetricsFile = $true }
        $none.Test() | Should -BeFalse
        $none.Set()
        $none.Test() | Should -BeTrue
        (Get-AzBackupMachineSetting).Throttled | Should -BeFalse

        $bad = & $NewResource AzBackupMachineSetting @{ IsSingleInstance = 'Yes'; WorkHourBandwidth = 10; NonWorkHourBandwidth = 10 }
        { $bad.Set() } | Should -Throw -ErrorId 'AZB_ARGS_INVALID,Set-AzBackupMachineSetting'
        (Get-AzBackupMachineSetting).Throttled | Should -BeFalse
    }

    It 'AzBackupRegistration Ensure Absent: a wrong passphrase is refused (AZB_PASSPHRASE_WRONG) and the server stays; the right one unregisters it' {
        $leave = & $NewResource AzBackupRegistration @{ Vault = $vault; Ensure = 'Absent'; Passphrase = $wrongPassphrase }
        $leave.Test() | Should -BeFalse
        { $leave.Set() } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Unregister-AzBackupServer'
        $leave.Get().Ensure | Should -Be 'Present'
        $leave.Passphrase = $passphrase
        $leave.Set()
        $leave.Test() | Should -BeTrue
        $leave.Get().Ensure | Should -Be 'Absent'
    }
}
