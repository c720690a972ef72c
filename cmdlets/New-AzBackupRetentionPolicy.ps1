function New-AzBackupRetentionPolicy {
    <#
    .SYNOPSIS
        Makes a retention policy: daily points for 1 to 30 days, and optional weekly, monthly and
        yearly long-term tiers.
    .DESCRIPTION
        Retention works on calendar buckets in this server's time zone (days, Monday-to-Sunday weeks,
        months, years), per policy. Each tier keeps the newest point of each of its last N buckets,
        counted back from the policy's newest point, so a policy whose backups stop expires nothing
        more. Every point of the 24 hours before the newest one is kept too. A long-term tier keeps
        the point taken on its days and times; when that run failed or was missed, the newest point
        of the bucket instead. Tiers take their days and times from the schedule, so they must be
        among the schedule's. Expired points are removed after each policy run, and prune then gives
        their space back.
    .PARAMETER RetentionDays
        Daily points are kept for 1 to 30 days.
    .PARAMETER RetentionWeeklyPolicy
        Keep weekly points (with -WeekDaysOfWeek, -WeekTimesOfDay and -RetentionWeeks).
    .PARAMETER WeekDaysOfWeek
        Days the weekly points are taken from.
    .PARAMETER WeekTimesOfDay
        Scheduled times the weekly points are taken from.
    .PARAMETER RetentionWeeks
        Weeks to keep weekly points: 1 to 5163.
    .PARAMETER RetentionMonthlyPolicy
        Keep monthly points (with -MonthDaysOfMonth, -MonthTimesOfDay and -RetentionMonths).
    .PARAMETER MonthDaysOfMonth
        Days of the month (1 to 28, or Last) the monthly points are taken from.
    .PARAMETER MonthTimesOfDay
        Scheduled times the monthly points are taken from.
    .PARAMETER RetentionMonths
        Months to keep monthly points: 1 to 1188.
    .PARAMETER RetentionYearlyPolicy
        Keep yearly points (with -YearMonthsOfYear, -YearDaysOfMonth, -YearTimesOfDay and -RetentionYears).
    .PARAMETER YearMonthsOfYear
        Months the yearly points are taken from.
    .PARAMETER YearDaysOfMonth
        Days of those months (1 to 28, or Last).
    .PARAMETER YearTimesOfDay
        Scheduled times the yearly points are taken from.
    .PARAMETER RetentionYears
        Years to keep yearly points: 1 to 99.
    .EXAMPLE
        New-AzBackupRetentionPolicy -RetentionDays 30

        Daily points for 30 days.
    .EXAMPLE
        New-AzBackupRetentionPolicy -RetentionDays 14 -RetentionWeeklyPolicy -WeekDaysOfWeek Sunday -WeekTimesOfDay 21:00 -RetentionWeeks 12 `
            -RetentionMonthlyPolicy -MonthDaysOfMonth Last -MonthTimesOfDay 21:00 -RetentionMonths 24

        Two weeks of daily points, the Sunday 21:00 points for 12 weeks, and month-end points for two years.
    .OUTPUTS
        AzBackup.RetentionPolicy
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.RetentionPolicy')]
    param(
        [Parameter(Mandatory)]
        [ValidateRange(1, 30)]
        [int]$RetentionDays,

        [switch]$RetentionWeeklyPolicy,
        [ValidateSet('Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday')]
        [string[]]$WeekDaysOfWeek,
        [timespan[]]$WeekTimesOfDay,
        [ValidateRange(1, 5163)]
        [int]$RetentionWeeks,

        [switch]$RetentionMonthlyPolicy,
        [ValidateScript({ $_ -eq 'Last' -or ($_ -as [int]) -in 1..28 }, ErrorMessage = "'{0}' is not a day of the month AzBackup keeps: give 1 to 28, or Last.")]
        [string[]]$MonthDaysOfMonth,
        [timespan[]]$MonthTimesOfDay,
        [ValidateRange(1, 1188)]
        [int]$RetentionMonths,

        [switch]$RetentionYearlyPolicy,
        [ValidateSet('January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December')]
        [string[]]$YearMonthsOfYear,
        [ValidateScript({ $_ -eq 'Last' -or ($_ -as [int]) -in 1..28 }, ErrorMessage = "'{0}' is not a day of the month AzBackup keeps: give 1 to 28, or Last.")]
        [string[]]$YearDaysOfMonth,
        [timespan[]]$YearTimesOfDay,
        [ValidateRange(1, 99)]
        [int]$RetentionYears
    )
    $tiers = @(
        @{ On = $RetentionWeeklyPolicy; Name = 'weekly'; Need = @{ RetentionWeeks = $RetentionWeeks; WeekDaysOfWeek = $WeekDaysOfWeek; WeekTimesOfDay = $WeekTimesOfDay } }
        @{ On = $RetentionMonthlyPolicy; Name = 'monthly'; Need = @{ RetentionMonths = $RetentionMonths; MonthDaysOfMonth = $MonthDaysOfMonth; MonthTimesOfDay = $MonthTimesOfDay } }
        @{ On = $RetentionYearlyPolicy; Name = 'yearly'; Need = @{ RetentionYears = $RetentionYears; YearMonthsOfYear = $YearMonthsOfYear; YearDaysOfMonth = $YearDaysOfMonth; YearTimesOfDay = $YearTimesOfDay } }
    )
    foreach ($tier in $tiers) {
        $given = @($tier.Need.Keys | Where-Object { $PSBoundParameters.ContainsKey($_) })
        if (-not $tier.On -and $given.Count -gt 0) {
            $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_RETENTION_INVALID' -Category 'InvalidArgument' -Target $given[0] `
                        -Message "-$($given[0]) belongs to the $($tier.Name) tier, which is not asked for." -Hint "Add -Retention$((Get-Culture).TextInfo.ToTitleCase($tier.Name))Policy, or leave out -$($given -join ', -')."))
        }
        if ($tier.On) {
            $missing = @($tier.Need.Keys | Where-Object { -not $PSBoundParameters.ContainsKey($_) } | Sort-Object)
            if ($missing.Count -gt 0) {
                $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_RETENTION_INVALID' -Category 'InvalidArgument' -Target $missing[0] `
                            -Message "The $($tier.Name) tier needs -$($missing -join ', -')." -Hint 'Give the days, times and count the tier keeps.'))
            }
        }
    }
    $data = [ordered]@{ days = $RetentionDays }
    if ($RetentionWeeklyPolicy) { $data.weekly = @{ weeks = $RetentionWeeks; daysOfWeek = $WeekDaysOfWeek; timesOfDay = @(ConvertTo-AzBackupTimeText $WeekTimesOfDay) } }
    if ($RetentionMonthlyPolicy) { $data.monthly = @{ months = $RetentionMonths; daysOfMonth = @(ConvertFrom-AzBackupDayOfMonthText $MonthDaysOfMonth); timesOfDay = @(ConvertTo-AzBackupTimeText $MonthTimesOfDay) } }
    if ($RetentionYearlyPolicy) { $data.yearly = @{ years = $RetentionYears; monthsOfYear = $YearMonthsOfYear; daysOfMonth = @(ConvertFrom-AzBackupDayOfMonthText $YearDaysOfMonth); timesOfDay = @(ConvertTo-AzBackupTimeText $YearTimesOfDay) } }
    ConvertTo-AzBackupRetentionObject -Data ([pscustomobject]$data)
}
