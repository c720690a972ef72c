# The policy object cmdlets: New-AzBackupPolicy, New/Add/Remove-AzBackupFileSpec, New/Set-AzBackupSchedule,
# New/Set-AzBackupRetentionPolicy. They build objects in memory, with the limits as parameter validation.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:root = New-TestDirectory
}

Describe 'New-AzBackupPolicy and its parts' {
    It 'composes a policy in one pipeline, as MSOnlineBackup does' {
        $data = Join-Path $root 'data'
        $policy = New-AzBackupPolicy -Name files |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data, '/etc' -Exclude '*.tmp') |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday, Thursday -TimesOfDay '21:00', '09:30') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 30)
        $policy.PSObject.TypeNames | Should -Contain 'AzBackup.Policy'
        $policy.Name | Should -Be 'files'
        $policy.State | Should -Be 'New'
        $policy.FileSpecs.FileSpec | Should -Be @($data, '/etc')
        $policy.FileSpecs[0].Exclude | Should -Be @('*.tmp')
        $policy.Schedule.DaysOfWeek | Should -Be @('Monday', 'Thursday')
        $policy.Schedule.TimesOfDay | Should -Be @([timespan]'09:30', [timespan]'21:00')
        $policy.RetentionPolicy.RetentionDays | Should -Be 30
    }

    It 'resolves a relative file spec against the current location' {
        Push-Location $root
        try { (New-AzBackupFileSpec -FileSpec 'sub/dir').FileSpec | Should -Be (Join-Path $root 'sub/dir') } finally { Pop-Location }
    }

    It 'replaces a spec of the same path, and removes specs by path or object' {
        $policy = New-AzBackupPolicy -Name p | Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec '/srv/a', '/srv/b')
        $policy = $policy | Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec '/srv/a' -NonRecursive)
        $policy.FileSpecs.FileSpec | Should -Be @('/srv/b', '/srv/a')
        ($policy.FileSpecs | Where-Object FileSpec -EQ '/srv/a').NonRecursive | Should -BeTrue
        $policy = $policy | Remove-AzBackupFileSpec -FileSpec '/srv/b'
        $policy.FileSpecs.FileSpec | Should -Be @('/srv/a')
        $policy | Remove-AzBackupFileSpec -FileSpec '/srv/none' -WarningVariable warned -WarningAction SilentlyContinue | Out-Null
        $warned | Should -BeLike '*has no file spec /srv/none*'
    }

    It 'makes a command policy' {
        $policy = New-AzBackupPolicy -Name db -FromCommand pg_dump -ArgumentList mydb -StreamName mydb.sql
        $policy.Command.Command | Should -Be 'pg_dump'
        $policy.Command.StreamName | Should -Be 'mydb.sql'
    }

    It 'refuses a policy name that is not letters, digits, - and _' {
        { New-AzBackupPolicy -Name '../x' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupPolicy'
    }

    It 'refuses an object that is not a policy with AZB_POLICY_INVALID' {
        { [pscustomobject]@{ Name = 'x' } | Add-AzBackupFileSpec -FileSpec '/srv' } | Should -Throw -ErrorId 'AZB_POLICY_INVALID,Add-AzBackupFileSpec'
    }
}

Describe 'New-AzBackupSchedule limits' {
    It 'takes at most 3 times a day' {
        { New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '01:00', '02:00', '03:00', '04:00' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupSchedule'
    }
    It 'needs at least one day, and known day names' {
        { New-AzBackupSchedule -DaysOfWeek @() -TimesOfDay '01:00' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupSchedule'
        { New-AzBackupSchedule -DaysOfWeek Funday -TimesOfDay '01:00' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupSchedule'
    }
    It 'takes a weekly frequency of 1 to 4' {
        { New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '01:00' -WeeklyFrequency 5 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupSchedule'
        (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '01:00' -WeeklyFrequency 4).WeeklyFrequency | Should -Be 4
    }
    It 'refuses a time that is not in one day with AZB_SCHEDULE_INVALID' {
        { New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '1.02:00' } | Should -Throw -ErrorId 'AZB_SCHEDULE_INVALID,New-AzBackupSchedule'
    }
}

Describe 'New-AzBackupRetentionPolicy limits' {
    It 'keeps daily points for 1 to 30 days' {
        { New-AzBackupRetentionPolicy -RetentionDays 31 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupRetentionPolicy'
        { New-AzBackupRetentionPolicy -RetentionDays 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupRetentionPolicy'
    }
    It 'keeps weekly points for at most 5163 weeks, monthly 1188 months, yearly 99 years' {
        { New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionWeeklyPolicy -WeekDaysOfWeek Sunday -WeekTimesOfDay '21:00' -RetentionWeeks 6000 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupRetentionPolicy'
        { New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionMonthlyPolicy -MonthDaysOfMonth 1 -MonthTimesOfDay '21:00' -RetentionMonths 1189 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupRetentionPolicy'
        { New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionYearlyPolicy -YearMonthsOfYear June -YearDaysOfMonth 1 -YearTimesOfDay '21:00' -RetentionYears 100 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupRetentionPolicy'
    }
    It 'takes days of the month 1 to 28 or Last' {
        $r = New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionMonthlyPolicy -MonthDaysOfMonth 1, Last -MonthTimesOfDay '21:00' -RetentionMonths 12
        $r.MonthDaysOfMonth | Should -Be @('1', 'Last')
        { New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionMonthlyPolicy -MonthDaysOfMonth 31 -MonthTimesOfDay '21:00' -RetentionMonths 12 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupRetentionPolicy'
    }
    It 'says which part of a tier is missing, or given without the tier' {
        { New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionWeeklyPolicy -RetentionWeeks 4 } | Should -Throw -ErrorId 'AZB_RETENTION_INVALID,New-AzBackupRetentionPolicy' -ExpectedMessage '*needs -WeekDaysOfWeek, -WeekTimesOfDay*'
        { New-AzBackupRetentionPolicy -RetentionDays 7 -RetentionWeeks 4 } | Should -Throw -ErrorId 'AZB_RETENTION_INVALID,New-AzBackupRetentionPolicy' -ExpectedMessage '*belongs to the weekly tier*'
    }
}
