function New-AzBackupScheduleObject {
    <#
    .SYNOPSIS
        An AzBackup.Schedule: days of the week, times of day (TimeSpan), every Nth week.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Schedule')]
    param(
        [string[]]$DaysOfWeek,
        [timespan[]]$TimesOfDay,
        [int]$WeeklyFrequency = 1,
        [int]$RandomizedDelayMinutes = 0
    )
    [pscustomobject]@{
        PSTypeName             = 'AzBackup.Schedule'
        DaysOfWeek             = [string[]]@($DaysOfWeek)
        TimesOfDay             = [timespan[]]@($TimesOfDay | Sort-Object)
        WeeklyFrequency        = $WeeklyFrequency
        RandomizedDelayMinutes = $RandomizedDelayMinutes
    }
}

function ConvertTo-AzBackupTimeText([timespan[]]$Times) {
    # The engine takes HH:MM, 24-hour; seconds are not part of a schedule.
    @($Times | ForEach-Object { '{0:00}:{1:00}' -f $_.Hours, $_.Minutes })
}

function ConvertTo-AzBackupDayOfMonthText([int[]]$Days) {
    @($Days | ForEach-Object { if ($_ -eq 0) { 'Last' } else { [string]$_ } })
}

function ConvertFrom-AzBackupDayOfMonthText([string[]]$Days) {
    @($Days | ForEach-Object { if ($_ -eq 'Last') { 0 } else { [int]$_ } })
}

function ConvertTo-AzBackupPolicyObject {
    <#
    .SYNOPSIS
        Turns the engine's Policy data (or a fresh one) into an AzBackup.Policy with typed parts:
        FileSpecs (AzBackup.FileSpec), Schedule (AzBackup.Schedule), RetentionPolicy
        (AzBackup.RetentionPolicy), as MSOnlineBackup's OBPolicy composes them.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Policy')]
    param([Parameter(Mandatory, ValueFromPipeline)][object]$Data)
    process {
        $specs = @(foreach ($s in @($Data.FileSpecs)) {
                if ($null -eq $s) { continue }
                [pscustomobject]@{ PSTypeName = 'AzBackup.FileSpec'; FileSpec = $s.path; Exclude = [string[]]@($s.exclude | Where-Object { $_ }); NonRecursive = [bool]$s.nonRecursive; ExcludeCaches = [bool]$s.excludeCaches; OneFileSystem = [bool]$s.oneFileSystem }
            })
        $schedule = $null
        if ($Data.Schedule) {
            $schedule = New-AzBackupScheduleObject -DaysOfWeek $Data.Schedule.daysOfWeek -TimesOfDay $Data.Schedule.timesOfDay `
                -WeeklyFrequency $Data.Schedule.weeklyFrequency -RandomizedDelayMinutes ([int]$Data.Schedule.randomizedDelayMinutes)
        }
        $retention = $null
        if ($Data.Retention) { $retention = ConvertTo-AzBackupRetentionObject -Data $Data.Retention }
        $command = $null
        if ($Data.Command) { $command = [pscustomobject]@{ Command = $Data.Command.command; ArgumentList = [string[]]@($Data.Command.arguments); StreamName = $Data.Command.streamName } }
        $lastRun = $null
        if ($Data.LastRun) {
            $lastRun = [pscustomobject]@{
                Time = [datetime]$Data.LastRun.time; Status = $Data.LastRun.status; PointId = $Data.LastRun.pointId
                Code = $Data.LastRun.code; Message = $Data.LastRun.message
            }
        }
        [pscustomobject]@{
            PSTypeName       = 'AzBackup.Policy'
            Name             = $Data.Name
            State            = if ($Data.State) { $Data.State } else { 'New' }
            Vault            = $Data.Vault
            FileSpecs        = [object[]]$specs
            Snapshot         = if ($Data.Snapshot) { [string]$Data.Snapshot } else { 'Auto' }
            Command          = $command
            PreCommand       = ConvertTo-AzBackupHookObject -Data $Data.PreCommand
            PostCommand      = ConvertTo-AzBackupHookObject -Data $Data.PostCommand
            Schedule         = $schedule
            RetentionPolicy  = $retention
            NextRun          = if ($Data.NextRun) { [datetime]$Data.NextRun } else { $null }
            LastRun          = $lastRun
            LastSuccess      = if ($Data.LastSuccess) { [datetime]$Data.LastSuccess } else { $null }
            Overdue          = [bool]$Data.Overdue
            Scheduler        = $Data.Scheduler
            ScheduleFiles    = [string[]]@($Data.ScheduleFiles | Where-Object { $_ })
            PassphraseStored = $Data.PassphraseStored
            PointsExpiring   = $Data.PointsExpiring
            # Set-AzBackupPolicy: whether the save changed anything (false when the same policy was saved again).
            Changed          = $Data.Changed
        }
    }
}

function ConvertTo-AzBackupRetentionObject([object]$Data) {
    $r = [ordered]@{ PSTypeName = 'AzBackup.RetentionPolicy'; RetentionDays = [int]$Data.days }
    if ($Data.weekly) {
        $r.RetentionWeeks = [int]$Data.weekly.weeks
        $r.WeekDaysOfWeek = [string[]]@($Data.weekly.daysOfWeek)
        $r.WeekTimesOfDay = [timespan[]]@($Data.weekly.timesOfDay)
    }
    if ($Data.monthly) {
        $r.RetentionMonths = [int]$Data.monthly.months
        $r.MonthDaysOfMonth = [string[]](ConvertTo-AzBackupDayOfMonthText $Data.monthly.daysOfMonth)
        $r.MonthTimesOfDay = [timespan[]]@($Data.monthly.timesOfDay)
    }
    if ($Data.yearly) {
        $r.RetentionYears = [int]$Data.yearly.years
        $r.YearMonthsOfYear = [string[]]@($Data.yearly.monthsOfYear)
        $r.YearDaysOfMonth = [string[]](ConvertTo-AzBackupDayOfMonthText $Data.yearly.daysOfMonth)
        $r.YearTimesOfDay = [timespan[]]@($Data.yearly.timesOfDay)
    }
    [pscustomobject]$r
}

function ConvertFrom-AzBackupPolicyObject {
    <#
    .SYNOPSIS
        The engine's policy document (azbackup:policy) from an AzBackup.Policy.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param([Parameter(Mandatory)][object]$Policy)
    $document = [ordered]@{ name = $Policy.Name }
    if ($Policy.Vault) { $document.vault = $Policy.Vault }
    if (@($Policy.FileSpecs).Count -gt 0) {
        $document.fileSpecs = @(foreach ($s in $Policy.FileSpecs) {
                $spec = [ordered]@{ path = $s.FileSpec }
                if (@($s.Exclude).Count -gt 0) { $spec.exclude = @($s.Exclude) }
                if ($s.NonRecursive) { $spec.nonRecursive = $true }
                if ($s.PSObject.Properties['ExcludeCaches'] -and $s.ExcludeCaches) { $spec.excludeCaches = $true }
                if ($s.PSObject.Properties['OneFileSystem'] -and $s.OneFileSystem) { $spec.oneFileSystem = $true }
                $spec
            })
    }
    # Files only (a command's output has nothing to snapshot); Auto is the default and is left out.
    if ($document.fileSpecs -and $Policy.PSObject.Properties['Snapshot'] -and $Policy.Snapshot -and $Policy.Snapshot -ne 'Auto') { $document.snapshot = [string]$Policy.Snapshot }
    if ($Policy.Command) {
        $document.command = [ordered]@{ command = $Policy.Command.Command; arguments = @($Policy.Command.ArgumentList | Where-Object { $null -ne $_ }); streamName = $Policy.Command.StreamName }
    }
    foreach ($phase in 'PreCommand', 'PostCommand') {
        $hook = if ($Policy.PSObject.Properties[$phase]) { ConvertFrom-AzBackupHookObject -Hook $Policy.$phase }
        if ($hook) { $document[$phase.Substring(0, 1).ToLowerInvariant() + $phase.Substring(1)] = $hook }
    }
    if ($Policy.Schedule) {
        $s = $Policy.Schedule
        $document.schedule = [ordered]@{ daysOfWeek = @($s.DaysOfWeek); timesOfDay = @(ConvertTo-AzBackupTimeText $s.TimesOfDay); weeklyFrequency = [int]$s.WeeklyFrequency }
        if ($s.RandomizedDelayMinutes) { $document.schedule.randomizedDelayMinutes = [int]$s.RandomizedDelayMinutes }
    }
    if ($Policy.RetentionPolicy) {
        $r = $Policy.RetentionPolicy
        $document.retention = [ordered]@{ days = [int]$r.RetentionDays }
        if ($r.RetentionWeeks) { $document.retention.weekly = [ordered]@{ weeks = [int]$r.RetentionWeeks; daysOfWeek = @($r.WeekDaysOfWeek); timesOfDay = @(ConvertTo-AzBackupTimeText $r.WeekTimesOfDay) } }
        if ($r.RetentionMonths) { $document.retention.monthly = [ordered]@{ months = [int]$r.RetentionMonths; daysOfMonth = @(ConvertFrom-AzBackupDayOfMonthText $r.MonthDaysOfMonth); timesOfDay = @(ConvertTo-AzBackupTimeText $r.MonthTimesOfDay) } }
        if ($r.RetentionYears) { $document.retention.yearly = [ordered]@{ years = [int]$r.RetentionYears; monthsOfYear = @($r.YearMonthsOfYear); daysOfMonth = @(ConvertFrom-AzBackupDayOfMonthText $r.YearDaysOfMonth); timesOfDay = @(ConvertTo-AzBackupTimeText $r.YearTimesOfDay) } }
    }
    if ($Policy.State -eq 'Suspended') { $document.state = 'Suspended' }
    $document
}

function Assert-AzBackupPolicyObject {
    <#
    .SYNOPSIS
        Stops with AZB_POLICY_INVALID when the object is not a policy (New-AzBackupPolicy / Get-AzBackupPolicy).
    #>
    param([Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller, [AllowNull()][object]$Policy)
    if ($null -eq $Policy -or -not ($Policy.PSObject.TypeNames -contains 'AzBackup.Policy')) {
        $Caller.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_POLICY_INVALID' -Category 'InvalidArgument' -Target $Policy `
                    -Message 'The -Policy object is not an AzBackup policy.' -Hint 'Make one with New-AzBackupPolicy, or get a saved one with Get-AzBackupPolicy.'))
    }
}
