BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:homePath = New-TestHome -Root $root
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Set-AzBackupMachineSetting' {
    BeforeEach { $env:AZBACKUP_HOME = $homePath }

    It 'throttles uploads by work hours and returns a typed AzBackup.MachineSetting' {
        $s = Set-AzBackupMachineSetting -WorkDay Monday, Wednesday -StartWorkHour 8 -EndWorkHour 17 -WorkHourBandwidth 2MB -NonWorkHourBandwidth 50MB
        $s.PSObject.TypeNames[0] | Should -Be 'AzBackup.MachineSetting'
        $s.Throttled | Should -BeTrue
        $s.WorkDays | Should -Be @('Monday', 'Wednesday')
        $s.StartWorkHour | Should -Be 8
        $s.EndWorkHour | Should -Be 17
        $s.WorkHourBandwidth | Should -Be 2MB
        $s.NonWorkHourBandwidth | Should -Be 50MB
        $s.CurrentBandwidth | Should -BeIn @(2MB, 50MB)
        (Get-Content (Join-Path $homePath 'settings.json') -Raw | ConvertFrom-Json).throttle.workHourBandwidth | Should -Be 2MB
    }

    It 'keeps the work days and hours set before when only the bandwidths change' {
        $null = Set-AzBackupMachineSetting -WorkDay Tuesday, Saturday -StartWorkHour 7 -EndWorkHour 15 -WorkHourBandwidth 2MB -NonWorkHourBandwidth 50MB
        $s = Set-AzBackupMachineSetting -WorkHourBandwidth 4MB -NonWorkHourBandwidth 50MB
        $s.WorkDays | Should -Be @('Tuesday', 'Saturday')
        $s.StartWorkHour | Should -Be 7
        $s.EndWorkHour | Should -Be 15
        $s.WorkHourBandwidth | Should -Be 4MB
        $s.NonWorkHourBandwidth | Should -Be 50MB
    }

    It 'removes throttling with -NoThrottle' {
        (Set-AzBackupMachineSetting -NoThrottle).Throttled | Should -BeFalse
        (Get-AzBackupMachineSetting).CurrentBandwidth | Should -Be 0
    }

    It 'changes nothing with -WhatIf' {
        $null = Set-AzBackupMachineSetting -NoThrottle
        Set-AzBackupMachineSetting -WorkHourBandwidth 1MB -NonWorkHourBandwidth 1MB -WhatIf
        (Get-AzBackupMachineSetting).Throttled | Should -BeFalse
    }

    It 'sets and removes a proxy' {
        $s = Set-AzBackupMachineSetting -ProxyServer proxy.contoso.com -ProxyPort 8080 -ProxyUserName backup
        $s.ProxyServer | Should -Be 'proxy.contoso.com'
        $s.ProxyPort | Should -Be 8080
        $s.ProxyUsername | Should -Be 'backup'
        (Set-AzBackupMachineSetting -NoProxy).ProxyServer | Should -Be ''
        { Set-AzBackupMachineSetting -ProxyServer 'not a host!' -ProxyPort 80 -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ARGS_INVALID,Set-AzBackupMachineSetting'
    }

    It 'stores a -ProxyCredential password owner-only and never shows it; -NoProxy removes it' {
        $password = 'Pester-Proxy-' + [guid]::NewGuid().ToString('N')
        $credential = [pscredential]::new('CONTOSO\svc-backup', (ConvertTo-SecureString $password -AsPlainText -Force))
        $s = Set-AzBackupMachineSetting -ProxyServer proxy.contoso.com -ProxyPort 3128 -ProxyCredential $credential
        $s.ProxyUsername | Should -Be 'CONTOSO\svc-backup'
        $s.ProxyPasswordStored | Should -BeTrue
        ($s | Format-List | Out-String) | Should -Not -Match $password
        $secret = Join-Path $homePath 'proxy.secret'
        Get-Content -LiteralPath $secret -Raw | Should -Be $password
        if (-not $IsWindows) { (Get-Item -LiteralPath $secret).UnixFileMode | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite') }
        Get-Content (Join-Path $homePath 'settings.json') -Raw | Should -Not -Match $password
        (Get-AzBackupMachineSetting).ProxyPasswordStored | Should -BeTrue
        (Set-AzBackupMachineSetting -NoProxy).ProxyPasswordStored | Should -BeFalse
        Test-Path -LiteralPath $secret | Should -BeFalse
    }

    It 'refuses -ProxyUserName together with -ProxyCredential' {
        $credential = [pscredential]::new('u', (ConvertTo-SecureString 'p' -AsPlainText -Force))
        { Set-AzBackupMachineSetting -ProxyServer p.contoso.com -ProxyPort 8080 -ProxyUserName u -ProxyCredential $credential -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ARGS_INVALID,Set-AzBackupMachineSetting'
    }

    It 'sets the upload concurrency alone or with other settings, 1 to 32' {
        (Set-AzBackupMachineSetting -UploadConcurrency 6).UploadConcurrency | Should -Be 6
        $s = Set-AzBackupMachineSetting -NoThrottle -UploadConcurrency 3
        $s.UploadConcurrency | Should -Be 3
        $s.Throttled | Should -BeFalse
        (Get-AzBackupMachineSetting).UploadConcurrency | Should -Be 3
        { Set-AzBackupMachineSetting -UploadConcurrency 33 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Set-AzBackupMachineSetting'
        Set-AzBackupMachineSetting -UploadConcurrency 9 -WhatIf
        (Get-AzBackupMachineSetting).UploadConcurrency | Should -Be 3
    }

    It 'refuses a bandwidth below 64 KiB/s and work hours that are not a range' {
        { Set-AzBackupMachineSetting -WorkHourBandwidth 1000 -NonWorkHourBandwidth 1MB -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ARGS_INVALID,Set-AzBackupMachineSetting'
        { Set-AzBackupMachineSetting -StartWorkHour 18 -EndWorkHour 9 -WorkHourBandwidth 1MB -NonWorkHourBandwidth 1MB -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ARGS_INVALID,Set-AzBackupMachineSetting'
    }
}

Describe 'Get-AzBackupMachineSetting' {
    BeforeEach { $env:AZBACKUP_HOME = $homePath }

    It 'shows the settings in force' {
        $null = Set-AzBackupMachineSetting -WorkDay ([System.Enum]::GetValues([System.DayOfWeek])) -StartWorkHour 0 -EndWorkHour 24 -WorkHourBandwidth 3MB -NonWorkHourBandwidth 3MB
        $s = Get-AzBackupMachineSetting
        $s.Throttled | Should -BeTrue
        $s.CurrentBandwidth | Should -Be 3MB
        $s.WorkDays.Count | Should -Be 7
    }
}
