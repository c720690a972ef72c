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

    It 'keeps a file spec''s -ExcludeCaches and -OneFileSystem through Set-AzBackupPolicy and Get-AzBackupPolicy, and its runs apply them' {
        $cached = Join-Path $root 'cached'
        $null = New-Item -ItemType Directory -Path (Join-Path $cached 'cache') -Force
        [System.IO.File]::WriteAllText((Join-Path $cached 'cache/CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55')
        Set-Content -LiteralPath (Join-Path $cached 'cache/blob') -Value 'cached'
        Set-Content -LiteralPath (Join-Path $cached 'keep.txt') -Value 'kept'
        $null = New-AzBackupPolicy -Name caches |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $cached -ExcludeCaches -OneFileSystem) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7) |
            Set-AzBackupPolicy -StorePassphrase -Passphrase $pp
        $spec = (Get-AzBackupPolicy caches).FileSpecs[0]
        $spec.ExcludeCaches | Should -BeTrue
        $spec.OneFileSystem | Should -BeTrue
        $spec.NonRecursive | Should -BeFalse
        $point = Start-AzBackup -PolicyName caches
        $names = (Get-AzRecoverableItem -PointId $point.PointId -Recurse -Passphrase $pp).Name
        $names | Should -Contain 'CACHEDIR.TAG'
        $names | Should -Contain 'keep.txt'
        $names | Should -Not -Contain 'blob'
        Remove-AzBackupPolicy -Name caches -Confirm:$false
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
        # Interactive: the question says how many points go and that they can come back; No keeps the old policy, Yes saves.
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try {
            $shorten = 'Get-AzBackupPolicy files | Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 2) | Set-AzBackupPolicy | Out-Null; "days: $((Get-AzBackupPolicy files).RetentionPolicy.RetentionDays)"'
            $no = Invoke-TestChildPwsh $shorten -Answer 'N'
            $no | Should -Match 'expires [1-9][0-9]* recovery point\(s\) at its next run\s+\(recoverable for 14 days with Restore-AzRecoveryPoint\)\. Save it\?'
            $no | Should -Match 'days: 30'
            $yes = Invoke-TestChildPwsh $shorten -Answer 'Y'
            $yes | Should -Match 'days: 2'
        } finally { $env:AZBACKUP_PASSPHRASE = $null }
        (Get-AzBackupPolicy files).RetentionPolicy.RetentionDays | Should -Be 2
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

Describe 'Set-AzBackupPolicy on Windows: a Task Scheduler task as SYSTEM (mocked)' {
    # The ScheduledTasks module exists only on Windows. Stand-ins with the real commands' parameters let
    # Pester mock them, so the task definition the module builds is checked here; it is not run here.
    BeforeAll {
        $stubs = @{
            'New-ScheduledTaskAction'      = 'param([string]$Execute, [string]$Argument)'
            'New-ScheduledTaskTrigger'     = 'param([switch]$Weekly, [System.DayOfWeek[]]$DaysOfWeek, [datetime]$At, [int]$WeeksInterval, [timespan]$RandomDelay)'
            'New-ScheduledTaskPrincipal'   = 'param([string]$UserId, [string]$LogonType, [string]$RunLevel)'
            'New-ScheduledTaskSettingsSet' = 'param([switch]$StartWhenAvailable, [string]$MultipleInstances, [timespan]$ExecutionTimeLimit)'
            'Register-ScheduledTask'       = 'param([string]$TaskName, [string]$TaskPath, [object[]]$Action, [object[]]$Trigger, [object]$Principal, [object]$Settings, [string]$Description, [switch]$Force)'
            'Get-ScheduledTask'            = 'param([string]$TaskName, [string]$TaskPath)'
            'Unregister-ScheduledTask'     = 'param([string]$TaskName, [string]$TaskPath, [switch]$Confirm)'
        }
        $script:stubbed = @($stubs.Keys | Where-Object { -not (Get-Command $_ -ErrorAction SilentlyContinue) })
        foreach ($name in $stubbed) { $null = New-Item -Path "function:global:$name" -Value ([scriptblock]::Create($stubs[$name] + ' throw "not on this machine"')) }
        InModuleScope AzBackup { $script:UseTaskScheduler = $true }
        Mock -ModuleName AzBackup New-ScheduledTaskAction { [pscustomobject]@{ Execute = $Execute; Argument = $Argument } }
        Mock -ModuleName AzBackup New-ScheduledTaskTrigger { [pscustomobject]@{ Weekly = [bool]$Weekly; DaysOfWeek = $DaysOfWeek; At = $At; WeeksInterval = $WeeksInterval; RandomDelay = $RandomDelay } }
        Mock -ModuleName AzBackup New-ScheduledTaskPrincipal { [pscustomobject]@{ UserId = $UserId; LogonType = $LogonType; RunLevel = $RunLevel } }
        Mock -ModuleName AzBackup New-ScheduledTaskSettingsSet { [pscustomobject]@{ StartWhenAvailable = [bool]$StartWhenAvailable; MultipleInstances = $MultipleInstances; ExecutionTimeLimit = $ExecutionTimeLimit } }
        Mock -ModuleName AzBackup Register-ScheduledTask { }
        Mock -ModuleName AzBackup Get-ScheduledTask { [pscustomobject]@{ TaskName = $TaskName } }
        Mock -ModuleName AzBackup Unregister-ScheduledTask { }
    }
    AfterAll {
        InModuleScope AzBackup { $script:UseTaskScheduler = $IsWindows }
        foreach ($name in $stubbed) { Remove-Item -Path "function:global:$name" -ErrorAction SilentlyContinue }
    }
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'registers one weekly trigger per time on the policy''s days, running the engine as SYSTEM' {
        $policy = New-AzBackupPolicy -Name win |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Tuesday, Saturday -TimesOfDay '06:15', '22:00' -WeeklyFrequency 2 -RandomizedDelayMinutes 20) |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 10) |
            Set-AzBackupPolicy
        $policy.Scheduler | Should -Be 'TaskScheduler'
        Should -Invoke -ModuleName AzBackup Register-ScheduledTask -Times 1 -Exactly -ParameterFilter {
            $TaskName -eq 'AzBackup policy win' -and $TaskPath -eq '\AzBackup\' -and $Force -and
            $Action[0].Argument -eq 'policy run win --scheduled' -and (Test-Path -LiteralPath $Action[0].Execute) -and
            $Principal.UserId -eq 'SYSTEM' -and $Principal.LogonType -eq 'ServiceAccount' -and $Principal.RunLevel -eq 'Highest' -and
            $Settings.StartWhenAvailable -and $Settings.MultipleInstances -eq 'IgnoreNew' -and $Settings.ExecutionTimeLimit -eq [timespan]::Zero -and
            @($Trigger).Count -eq 2 -and
            (@($Trigger | ForEach-Object { $_.At.TimeOfDay.ToString('hh\:mm') }) -join ',') -eq '06:15,22:00' -and
            @($Trigger | Where-Object { $_.Weekly -and $_.WeeksInterval -eq 1 -and $_.RandomDelay -eq [timespan]::FromMinutes(20) -and ($_.DaysOfWeek -join ',') -eq 'Tuesday,Saturday' }).Count -eq 2
        }
    }

    It 'removes the task when the policy is suspended, and registers it again on resume' {
        $null = Suspend-AzBackupPolicy -Name win
        Should -Invoke -ModuleName AzBackup Unregister-ScheduledTask -Times 1 -Exactly -ParameterFilter { $TaskName -eq 'AzBackup policy win' -and $TaskPath -eq '\AzBackup\' }
        (Resume-AzBackupPolicy -Name win).Scheduler | Should -Be 'TaskScheduler'
        Should -Invoke -ModuleName AzBackup Register-ScheduledTask -Times 1 -Exactly -ParameterFilter { $TaskName -eq 'AzBackup policy win' }
    }

    It 'removes the task with the policy' {
        $null = Remove-AzBackupPolicy -Name win -Confirm:$false
        Should -Invoke -ModuleName AzBackup Unregister-ScheduledTask -Times 1 -Exactly -ParameterFilter { $TaskName -eq 'AzBackup policy win' }
    }
}
