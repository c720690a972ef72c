function New-AzBackupSchedule {
    <#
    .SYNOPSIS
        Makes a backup schedule: days of the week and up to 3 times a day.
    .DESCRIPTION
        Times are wall-clock times in this server's time zone. Where daylight saving time skips an
        hour, a time inside it runs when the clock has moved on (cron and systemd both do this); where
        an hour repeats, the run happens once. The schedule does not move with the change otherwise.
        With -WeeklyFrequency 2 to 4 the policy runs every 2nd to 4th week, counted from the week it
        was first saved.
    .PARAMETER DaysOfWeek
        At least one day.
    .PARAMETER TimesOfDay
        1 to 3 times a day, e.g. 09:00, 21:00 (minutes are kept, seconds are not).
    .PARAMETER WeeklyFrequency
        Run every Nth week, 1 to 4 (default 1).
    .PARAMETER RandomizedDelayMinutes
        Start up to this many minutes late, at random, so that many servers do not start at once.
    .EXAMPLE
        New-AzBackupSchedule -DaysOfWeek Monday, Wednesday, Friday -TimesOfDay 09:00, 21:00

        Twice a day on three days.

    .EXAMPLE
        New-AzBackupSchedule -DaysOfWeek Saturday -TimesOfDay 02:00 -WeeklyFrequency 2 -RandomizedDelayMinutes 30

        Every other Saturday at 02:00, starting up to 30 minutes late so that a fleet does not start at once.
    .OUTPUTS
        AzBackup.Schedule
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Schedule')]
    param(
        [Parameter(Mandatory)]
        [ValidateSet('Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday')]
        [ValidateCount(1, 7)]
        [string[]]$DaysOfWeek,

        [Parameter(Mandatory)]
        [ValidateCount(1, 3)]
        [timespan[]]$TimesOfDay,

        [ValidateRange(1, 4)]
        [int]$WeeklyFrequency = 1,

        [ValidateRange(0, 720)]
        [int]$RandomizedDelayMinutes = 0
    )
    foreach ($t in $TimesOfDay) {
        if ($t -lt [timespan]::Zero -or $t.TotalHours -ge 24) {
            $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_SCHEDULE_INVALID' -Category 'InvalidArgument' -Target $t `
                        -Message "$t is not a time of day." -Hint 'Give times from 00:00 to 23:59.'))
        }
    }
    New-AzBackupScheduleObject -DaysOfWeek ($DaysOfWeek | Select-Object -Unique) -TimesOfDay $TimesOfDay -WeeklyFrequency $WeeklyFrequency -RandomizedDelayMinutes $RandomizedDelayMinutes
}
