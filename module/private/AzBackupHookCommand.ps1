function New-AzBackupHookCommand {
    <#
    .SYNOPSIS
        The engine's form of a pre or post command (core/backup/hooks.ts): the executable, its arguments
        (passed as they are: no shell) and its time-out in seconds. $null when no command is given.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param(
        # With -Phase (Pre or Post), arguments or a time-out without a command stop the caller with AZB_USAGE.
        [System.Management.Automation.PSCmdlet]$Caller,
        [string]$Phase,
        [AllowEmptyString()][string]$Command,
        [AllowNull()][string[]]$ArgumentList,
        # $null: not given, the engine's default (600 s) applies; the engine checks the range.
        [AllowNull()][Nullable[int]]$TimeoutSeconds
    )
    if (-not $Command) {
        if ($Caller -and ($ArgumentList -or $null -ne $TimeoutSeconds)) {
            $Caller.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_USAGE' -Category 'InvalidArgument' -Target "-$($Phase)Command" `
                -Message "-$($Phase)ArgumentList and -$($Phase)CommandTimeoutSeconds need -$($Phase)Command." -Hint "Give the program with -$($Phase)Command, or leave its arguments and time-out out."))
        }
        return $null
    }
    $hook = [ordered]@{ command = $Command }
    if ($ArgumentList) { $hook.arguments = @($ArgumentList) }
    if ($null -ne $TimeoutSeconds) { $hook.timeoutSeconds = $TimeoutSeconds }
    $hook
}

function ConvertTo-AzBackupHookObject {
    <#
    .SYNOPSIS
        A policy's pre or post command as PowerShell shows it: Command, ArgumentList, TimeoutSeconds.
    #>
    [CmdletBinding()]
    param([AllowNull()][object]$Data)
    if ($null -eq $Data) { return $null }
    [pscustomobject]@{
        PSTypeName     = 'AzBackup.PolicyCommand'
        Command        = $Data.command
        ArgumentList   = [string[]]@($Data.arguments | Where-Object { $null -ne $_ })
        TimeoutSeconds = if ($Data.timeoutSeconds) { [int]$Data.timeoutSeconds } else { $null }
    }
}

function ConvertFrom-AzBackupHookObject {
    <#
    .SYNOPSIS
        The engine's document of a policy's pre or post command from its PowerShell form.
    #>
    [CmdletBinding()]
    param([AllowNull()][object]$Hook)
    if ($null -eq $Hook -or -not $Hook.Command) { return $null }
    New-AzBackupHookCommand -Command $Hook.Command -ArgumentList @($Hook.ArgumentList | Where-Object { $null -ne $_ }) -TimeoutSeconds $Hook.TimeoutSeconds
}
