# Set-AzBackupPolicy, Get-AzBackupPolicy, Suspend/Resume-AzBackupPolicy, Remove-AzBackupPolicy and
# Start-AzBackup -Policy against the real engine. Schedules go to cron.d files below a test unit root
# (AZBACKUP_UNIT_ROOT), never to the machine's /etc; test/policy/cron.test.ts runs one with a real cron.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'policy-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    Set-Content -LiteralPath (Join-Path $data 'skip.tmp') -Value 'left out by the policy'
    $script:units = Join-Path $root 'units'
    $env:AZBACKUP_UNIT_ROOT = $units
    $env:AZBACKUP_SCHEDULER = 'cron'

    function script:New-FilesPolicy([string]$Name = 'files', [int]$Days = 30) {
        New-AzBackupPolicy -Name $Name |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data -Exclude '*.tmp') |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday, Thursday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays $Days)
    }
    function script:Get-CronFile([string]$Name = 'files') { Join-Path $units "etc/cron.d/azbackup-policy-$Name" }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Set-AzBackupPolicy' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'saves nothing with -WhatIf' {
        New-FilesPolicy | Set-AzBackupPolicy -WhatIf | Should -BeNullOrEmpty
        Get-AzBackupPolicy | Should -BeNullOrEmpty
        Test-Path (Get-CronFile) | Should -BeFalse
    }

    It 'saves and schedules a policy, stores the passphrase and says where' {
        $saved = New-FilesPolicy | Set-AzBackupPolicy -StorePassphrase -Passphrase $pp -Verbose 4>&1
        $said = ($saved | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $said | Where-Object { $_ -like '*passphrase for unattended runs is stored in*readable by this account only*' } | Should -Not -BeNullOrEmpty
        $policy = $saved | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.Policy' }
        $policy.State | Should -Be 'Active'
        $policy.Scheduler | Should -Be 'cron'
        $policy.NextRun | Should -BeOfType [datetime]
        $policy.NextRun.ToLocalTime().DayOfWeek | Should -BeIn @('Monday', 'Thursday')
        $policy.PassphraseStored | Should -BeLike 'file: *'
        Get-Content -Raw (Get-CronFile) | Should -Match '(?m)^0 21 \* \* 1,4 root .+ policy run files --scheduled'
        Get-Content -Raw (Get-CronFile) | Should -Not -Match ([regex]::Escape($srv.PassphraseText))
    }

    It 'is idempotent: the same policy again succeeds and changes nothing' {
        $again = New-FilesPolicy | Set-AzBackupPolicy
        $again.Name | Should -Be 'files'
        @(Get-AzBackupPolicy).Count | Should -Be 1
    }

    It 'refuses a new policy whose name is taken, with other settings' {
        { New-FilesPolicy -Days 7 | Set-AzBackupPolicy -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_POLICY_EXISTS,Set-AzBackupPolicy'
    }

    It 'refuses limits the engine checks, with their codes' {
        $overlap = New-FilesPolicy -Name overlap | Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec (Join-Path $data 'sub'))
        { $overlap | Set-AzBackupPolicy -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_FILESPEC_OVERLAP,Set-AzBackupPolicy'
        $tier = New-FilesPolicy -Name tier | Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionWeeklyPolicy -WeekDaysOfWeek Sunday -WeekTimesOfDay '21:00' -RetentionWeeks 4)
        $err = { $tier | Set-AzBackupPolicy -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_RETENTION_INVALID,Set-AzBackupPolicy' -PassThru
        $err.Exception.Message | Should -BeLike '*Sunday, on which the schedule takes no backup*'
        Get-AzBackupPolicy | ForEach-Object Name | Should -Be @('files')
    }
}

Describe 'Start-AzBackup -Policy' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'runs the policy now with its stored passphrase; the point and the jobs carry its name' {
        $point = Start-AzBackup -Policy (Get-AzBackupPolicy files)
        $point.PSObject.TypeNames | Should -Contain 'AzBackup.RecoveryPoint'
        $point.Policy | Should -Be 'files'
        (Get-AzBackupJob -Previous 2).Policy | Should -Be @('files', 'files')
        $policy = Get-AzBackupPolicy files
        $policy.LastRun.Status | Should -Be 'Completed'
        $policy.LastRun.PointId | Should -Be $point.PointId
        $policy.Overdue | Should -BeFalse
        (Get-AzRecoverableItem -PointId $point.PointId -Recurse -Passphrase $pp).Name | Should -Not -Contain 'skip.tmp'
    }

    It 'runs it by name too, and -WhatIf runs nothing' {
        $before = @(Get-AzRecoveryPoint -Passphrase $pp).Count
        Start-AzBackup -PolicyName files -WhatIf | Should -BeNullOrEmpty
        @(Get-AzRecoveryPoint -Passphrase $pp).Count | Should -Be $before
        (Start-AzBackup -PolicyName files).Policy | Should -Be 'files'
    }

    It 'says when there is no such policy' {
        { Start-AzBackup -PolicyName nothere -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_POLICY_NOT_FOUND,Start-AzBackup'
    }

    It 'asks before a shorter retention expires points, and says how many' {
        # Points of the next three days (the test clock; later than every point so far, so they anchor
        # the retention), then the retention cut to one day: the older ones would go.
        foreach ($days in 1..3) {
            $env:AZBACKUP_TEST_NOW = [datetime]::UtcNow.Date.AddDays($days).AddHours(21).ToString('o')
            $null = Start-AzBackup -PolicyName files
        }
        $env:AZBACKUP_TEST_NOW = $null
        $shorter = Get-AzBackupPolicy files | Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 1)
        # Non-interactive: ShouldContinue cannot ask, so without -Force the change is refused.
        { $shorter | Set-AzBackupPolicy -Passphrase $pp -ErrorAction Stop } | Should -Throw
        (Get-AzBackupPolicy files).RetentionPolicy.RetentionDays | Should -Be 30
        $saved = $shorter | Set-AzBackupPolicy -Passphrase $pp -Force
        $saved.RetentionPolicy.RetentionDays | Should -Be 1
        $saved.PointsExpiring | Should -BeGreaterThan 1
    }
}

Describe 'Suspend-AzBackupPolicy and Resume-AzBackupPolicy' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home }

    It 'suspend removes the schedule, resume puts it back' {
        (Suspend-AzBackupPolicy -Name files).State | Should -Be 'Suspended'
        Test-Path (Get-CronFile) | Should -BeFalse
        (Get-AzBackupPolicy files).NextRun | Should -BeNullOrEmpty
        (Get-AzBackupPolicy files | Resume-AzBackupPolicy).State | Should -Be 'Active'
        Test-Path (Get-CronFile) | Should -BeTrue
    }

    It 'changes nothing with -WhatIf' {
        Suspend-AzBackupPolicy -Name files -WhatIf | Should -BeNullOrEmpty
        (Get-AzBackupPolicy files).State | Should -Be 'Active'
    }
}

Describe 'Remove-AzBackupPolicy' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'removes nothing with -WhatIf' {
        Remove-AzBackupPolicy -Name files -DeleteBackup -WhatIf | Should -BeNullOrEmpty
        Get-AzBackupPolicy files | Should -Not -BeNullOrEmpty
    }

    It 'without -DeleteBackup stops the schedule and keeps the points' {
        $null = New-FilesPolicy -Name keep | Set-AzBackupPolicy
        $null = Start-AzBackup -PolicyName keep
        $kept = @(Get-AzRecoveryPoint -Passphrase $pp | Where-Object Policy -EQ 'keep')
        $kept.Count | Should -Be 1
        $removed = Remove-AzBackupPolicy -Name keep -Confirm:$false
        $removed.PointsExpired | Should -Be 0
        Test-Path (Get-CronFile keep) | Should -BeFalse
        @(Get-AzRecoveryPoint -Passphrase $pp | Where-Object Policy -EQ 'keep').PointId | Should -Be $kept.PointId
    }

    It 'with -DeleteBackup removes the policy and its points' {
        $own = @(Get-AzRecoveryPoint -Passphrase $pp | Where-Object Policy -EQ 'files')
        $own.Count | Should -BeGreaterThan 0
        $removed = Get-AzBackupPolicy files | Remove-AzBackupPolicy -DeleteBackup -Confirm:$false
        $removed.PointsExpired | Should -Be $own.Count
        @(Get-AzRecoveryPoint -Passphrase $pp | Where-Object Policy -EQ 'files') | Should -BeNullOrEmpty
        { Get-AzBackupPolicy files -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_POLICY_NOT_FOUND,Get-AzBackupPolicy'
    }
}
