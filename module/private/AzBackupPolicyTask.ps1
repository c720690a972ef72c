# Windows: a policy's schedule is a Task Scheduler task run as SYSTEM, registered from the module (the
# engine writes systemd units or cron.d files elsewhere). The ScheduledTasks commands exist only on
# Windows; the Pester tests check the task definition against mocks of them (README "Policies").

# Whether policies are scheduled through Task Scheduler here (tests set it to check the definition).
$script:UseTaskScheduler = $IsWindows

$script:PolicyTaskPath = '\AzBackup\'

function Get-AzBackupPolicyTaskName([string]$Name) { "AzBackup policy $Name" }

function Register-AzBackupPolicyTask {
    <#
    .SYNOPSIS
        Registers (or replaces) the scheduled task of an active policy: one weekly trigger per time of
        day on the policy's days, the engine's `policy run <name> --scheduled` as SYSTEM.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][object]$Policy, [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller)
    $engine = Resolve-AzBackupEngine -Caller $Caller
    if (-not $engine) { return }
    $action = New-ScheduledTaskAction -Execute $engine.Path -Argument "policy run $($Policy.Name) --scheduled"
    # Every week: the engine itself skips the weeks a weekly frequency of 2 to 4 leaves out, counted
    # from the policy's anchor week, as it does under cron and systemd.
    $triggers = foreach ($time in $Policy.Schedule.TimesOfDay) {
        $at = [datetime]::Today.Add($time)
        $trigger = @{ Weekly = $true; DaysOfWeek = [System.DayOfWeek[]]@($Policy.Schedule.DaysOfWeek); At = $at; WeeksInterval = 1 }
        if ($Policy.Schedule.RandomizedDelayMinutes -gt 0) { $trigger.RandomDelay = [timespan]::FromMinutes($Policy.Schedule.RandomizedDelayMinutes) }
        New-ScheduledTaskTrigger @trigger
    }
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    # Catch up a run missed while the machine was off (as Persistent=true does); never two at once.
    $settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -MultipleInstances IgnoreNew -ExecutionTimeLimit ([timespan]::Zero)
    $null = Register-ScheduledTask -TaskName (Get-AzBackupPolicyTaskName $Policy.Name) -TaskPath $script:PolicyTaskPath -Action $action `
        -Trigger $triggers -Principal $principal -Settings $settings -Description "AzBackup policy $($Policy.Name)" -Force
}

function Unregister-AzBackupPolicyTask {
    <#
    .SYNOPSIS
        Removes a policy's scheduled task, if there is one.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][string]$Name)
    $task = Get-ScheduledTask -TaskName (Get-AzBackupPolicyTaskName $Name) -TaskPath $script:PolicyTaskPath -ErrorAction SilentlyContinue
    if ($task) { Unregister-ScheduledTask -TaskName (Get-AzBackupPolicyTaskName $Name) -TaskPath $script:PolicyTaskPath -Confirm:$false }
}

function Sync-AzBackupPolicyTask {
    <#
    .SYNOPSIS
        After the engine saved or changed a policy: its task registered when active, removed when not.
        Passes the policy on, with Scheduler TaskScheduler when a task was registered.
    #>
    [CmdletBinding()]
    param([Parameter(ValueFromPipeline)][object]$Policy, [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller)
    process {
        if ($null -eq $Policy) { return }
        if ($script:UseTaskScheduler) {
            if ($Policy.State -eq 'Active') {
                Register-AzBackupPolicyTask -Policy $Policy -Caller $Caller
                $Policy.Scheduler = 'TaskScheduler'
            } else {
                Unregister-AzBackupPolicyTask -Name $Policy.Name
            }
        }
        $Policy
    }
}
