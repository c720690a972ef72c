function Set-AzBackupProtectionGroup {
    <#
    .SYNOPSIS
        Sets a protection group's short-term objective (retention range, synchronization frequency or
        schedule) and installs its schedule.
    .DESCRIPTION
        The short-term objective, as DPM's Set-DPMPolicyObjective: points are kept -RetentionRangeDays
        days (1-448; and at most 64 points per file data source, the oldest expiring first), counted per
        data source. The group runs either every -SynchronizationFrequency (15, 30, 60, 120, 240, 360,
        480, 720 or 1440 minutes, every day) or on a -Schedule's days and times; one replaces the other,
        and what is not given stays. After each backup, retention runs per data source. The schedule is
        installed as a systemd timer (azbackup-group-<name>.timer) or a cron file; a Suspended group's
        schedule is removed, and Active installs it again.

        Scheduled runs need the passphrase: -StorePassphrase keeps it on this server (checked against the
        vault first); without a stored one a warning (AZB_PASSPHRASE_NOT_STORED) says scheduled runs will
        fail. Errors: AZB_RETENTION_INVALID (outside 1-448 days), AZB_SCHEDULE_INVALID (a frequency not
        in the list, a frequency and a schedule together, a schedule with WeeklyFrequency or
        RandomizedDelayMinutes, which groups do not have), AZB_GROUP_NOT_FOUND. -WhatIf shows the group as
        it would be, next run included, and changes nothing.
    .PARAMETER Name
        The group, by name or from the pipeline.
    .PARAMETER RetentionRangeDays
        How many days short-term points are kept (1-448).
    .PARAMETER SynchronizationFrequency
        How often the group runs: minutes (an integer) or a TimeSpan, one of 15, 30, 60, 120, 240, 360,
        480, 720 or 1440 minutes.
    .PARAMETER Schedule
        Days and times to run, from New-AzBackupSchedule (WeeklyFrequency 1, no randomized delay).
    .PARAMETER State
        Active (scheduled) or Suspended (the schedule removed; Start-AzBackupProtectionGroup still runs it).
    .PARAMETER StorePassphrase
        Store the passphrase for the scheduled runs (needs -Passphrase, -PassphraseFile or
        $env:AZBACKUP_PASSPHRASE).
    .PARAMETER Passphrase
        The server's passphrase (else $env:AZBACKUP_PASSPHRASE), for -StorePassphrase.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (owner-only; the engine reads it).
    .EXAMPLE
        Set-AzBackupProtectionGroup -Name web -RetentionRangeDays 14 -SynchronizationFrequency ([timespan]'04:00') -StorePassphrase -Passphrase $passphrase

        Keeps 14 days of points, backs up every 4 hours, and stores the passphrase for those runs.
    .EXAMPLE
        Get-AzBackupProtectionGroup sql | Set-AzBackupProtectionGroup -Schedule (New-AzBackupSchedule -DaysOfWeek Monday, Thursday -TimesOfDay 22:00)

        Backs up the group sql on Mondays and Thursdays at 22:00.
    .EXAMPLE
        Set-AzBackupProtectionGroup -Name web -RetentionRangeDays 30 -WhatIf

        Shows the objective and next run the group would get, changing nothing.
    .OUTPUTS
        AzBackup.ProtectionGroup
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Frequency')]
    [OutputType('AzBackup.ProtectionGroup')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('ProtectionGroup')]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [int]$RetentionRangeDays,

        [Parameter(ParameterSetName = 'Frequency')]
        [ValidateNotNull()]
        [object]$SynchronizationFrequency,

        [Parameter(Mandatory, ParameterSetName = 'Schedule')]
        [PSTypeName('AzBackup.Schedule')]
        [ValidateNotNull()]
        [object]$Schedule,

        [ValidateSet('Active', 'Suspended')]
        [string]$State,

        [switch]$StorePassphrase,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = @{ name = $Name }
        if ($PSBoundParameters.ContainsKey('RetentionRangeDays')) { $arguments.retentionRangeDays = $RetentionRangeDays }
        if ($PSBoundParameters.ContainsKey('SynchronizationFrequency')) {
            $minutes = if ($SynchronizationFrequency -is [timespan]) { $SynchronizationFrequency.TotalMinutes } else { $SynchronizationFrequency -as [double] }
            if ($null -eq $minutes -or $minutes -ne [math]::Floor($minutes)) {
                $PSCmdlet.WriteError((New-AzBackupErrorRecord -Code 'AZB_SCHEDULE_INVALID' -Category 'InvalidArgument' -Target $SynchronizationFrequency `
                    -Message "'$SynchronizationFrequency' is not a whole number of minutes." -Hint 'Give minutes (60) or a TimeSpan ([timespan]''01:00''): 15, 30, 60, 120, 240, 360, 480, 720 or 1440 minutes.'))
                return
            }
            $arguments.synchronizationFrequencyMinutes = [int]$minutes
        }
        if ($Schedule) {
            if ($Schedule.WeeklyFrequency -gt 1 -or $Schedule.RandomizedDelayMinutes -gt 0) {
                $PSCmdlet.WriteError((New-AzBackupErrorRecord -Code 'AZB_SCHEDULE_INVALID' -Category 'InvalidArgument' -Target $Name `
                    -Message 'A protection group runs every week at the times given: a schedule with a WeeklyFrequency above 1 or a RandomizedDelayMinutes does not fit it.' `
                    -Hint 'Make the schedule with New-AzBackupSchedule -DaysOfWeek ... -TimesOfDay ... only.'))
                return
            }
            $arguments.schedule = @{ daysOfWeek = @($Schedule.DaysOfWeek); timesOfDay = @(ConvertTo-AzBackupTimeText $Schedule.TimesOfDay) }
        }
        if ($State) { $arguments.state = $State }
        if ($StorePassphrase) { $arguments.storePassphrase = $true }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $invoke = @{ Command = 'group.set'; Secrets = $secrets; SecretFiles = @{ passphrase = $PassphraseFile }; Caller = $PSCmdlet; Output = 'Result' }
        if ($WhatIfPreference) {
            # The engine's preview: the group as it would be (objective, schedule, next run), nothing saved.
            $preview = Invoke-AzBackupEngine @invoke -Arguments ($arguments + @{ whatIf = $true }) -SuppressWarnings
            $preview
        }
        if ($PSCmdlet.ShouldProcess("protection group $Name", 'Save the short-term objective and install its schedule')) {
            Invoke-AzBackupEngine @invoke -Arguments $arguments
        }
    }
}
