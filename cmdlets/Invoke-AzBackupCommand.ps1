function Invoke-AzBackupCommand {
    <#
    .SYNOPSIS
        Runs a script block with the AzBackup module on many servers at once, and returns one result per
        server: one server's failure never hides the others'.
    .DESCRIPTION
        Fans a script block out over PowerShell remoting sessions (SSH or WinRM, -Session) or over new SSH
        sessions to -HostName. On each server it first imports the AzBackup module (-ModuleName) and checks
        its engine (Get-AzBackupEngine), then runs the script block with -ArgumentList. The servers run at
        the same time, up to -ThrottleLimit at once.

        For each server, one AzBackup.RemoteResult: ComputerName, Port, Success, Output (what the script
        block returned, deserialized), Error and ErrorCode (the first error: its stable code, e.g.
        AZB_ENGINE_NOT_FOUND, AZB_ENGINE_PROTOCOL_UNSUPPORTED, AZB_PASSPHRASE_WRONG), Errors (every error
        record) and Warnings. A server is Success only when nothing wrote an error. Results come in the
        order of the sessions or host names given.

        Codes of the fan-out itself:
          AZB_REMOTE_CONNECT_FAILED       a session to -HostName could not be opened
          AZB_REMOTE_SESSION_UNAVAILABLE  a -Session given was not open (closed or broken before the run)
          AZB_REMOTE_SESSION_BROKEN       the session broke during the run
          AZB_REMOTE_MODULE_NOT_FOUND     the AzBackup module could not be imported on the server
          AZB_REMOTE_SCRIPT_FAILED        the script block failed with an error that has no AzBackup code
          AZB_REMOTE_INTERACTION_REQUIRED the script block asked for an answer (a confirmation): stopped there

        The script block runs where no one can answer a prompt (a server that asks is stopped with
        AZB_REMOTE_INTERACTION_REQUIRED): give -Confirm:$false to cmdlets that ask
        (removals, shorter retention) and secrets as SecureStrings in -ArgumentList or as files on the
        server (-PassphraseFile), never in the script text. $using: variables are not available: pass
        values with -ArgumentList. Progress of each server is not shown; its warnings are in Warnings.
    .PARAMETER Session
        Open PowerShell sessions (New-PSSession), one per server. They stay open afterwards.
    .PARAMETER HostName
        Servers to reach over SSH remoting (their sshd needs the powershell subsystem). Sessions are opened
        for the run and closed afterwards.
    .PARAMETER UserName
        With -HostName: the user to log on as.
    .PARAMETER KeyFilePath
        With -HostName: the SSH private key to log on with.
    .PARAMETER Port
        With -HostName: the SSH port (default 22).
    .PARAMETER Options
        With -HostName: SSH options passed to New-PSSession -Options (e.g. @{ StrictHostKeyChecking = 'yes' }).
    .PARAMETER ScriptBlock
        What to run on each server, after the module is imported. Its output is returned per server.
    .PARAMETER ArgumentList
        Arguments for the script block's param() block.
    .PARAMETER ModuleName
        Name or path of the AzBackup module on the servers. Default: AzBackup (found on PSModulePath).
    .PARAMETER ThrottleLimit
        How many servers run at once. Default 32.
    .EXAMPLE
        $sessions = New-PSSession -HostName web01, web02, db01 -UserName root
        Invoke-AzBackupCommand -Session $sessions -ScriptBlock { Start-AzBackup -PolicyName files } |
            Where-Object { -not $_.Success } | Format-Table ComputerName, ErrorCode, Error

        Backs up three servers at once and lists those that failed, and why.
    .EXAMPLE
        Invoke-AzBackupCommand -HostName (Get-Content servers.txt) -UserName root -ScriptBlock { Get-AzBackupJob -Previous 1 } -ThrottleLimit 10

        The newest job of every server in a list, ten at a time.
    .EXAMPLE
        Invoke-AzBackupCommand -Session $sessions -ScriptBlock { param($uploads) Set-AzBackupMachineSetting -UploadConcurrency $uploads } -ArgumentList 8 |
            Select-Object ComputerName, Success, @{ n = 'Changed'; e = { $_.Output.Changed } }

        Pushes one machine setting everywhere; Changed says where it was not already so.
    .OUTPUTS
        AzBackup.RemoteResult
    #>
    [CmdletBinding(DefaultParameterSetName = 'Session')]
    [OutputType('AzBackup.RemoteResult')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Session', Position = 0)]
        [ValidateNotNullOrEmpty()]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory, ParameterSetName = 'HostName')]
        [ValidateNotNullOrEmpty()]
        [string[]]$HostName,

        [Parameter(ParameterSetName = 'HostName')]
        [ValidateNotNullOrEmpty()]
        [string]$UserName,

        [Parameter(ParameterSetName = 'HostName')]
        [ValidateNotNullOrEmpty()]
        [string]$KeyFilePath,

        [Parameter(ParameterSetName = 'HostName')]
        [ValidateRange(1, 65535)]
        [int]$Port,

        [Parameter(ParameterSetName = 'HostName')]
        [hashtable]$Options,

        [Parameter(Mandatory, Position = 1)]
        [scriptblock]$ScriptBlock,

        [object[]]$ArgumentList = @(),

        [ValidateNotNullOrEmpty()]
        [string]$ModuleName = 'AzBackup',

        [ValidateRange(1, 1000)]
        [int]$ThrottleLimit = 32
    )

    # What runs on each server: the module, its engine, then the caller's script block. The script block
    # travels as text (a script block does not cross a session as one) and is rebuilt there.
    $serverScript = {
        param([string]$AzBackupModule, [string]$AzBackupScript, [object[]]$AzBackupArguments)
        try {
            Import-Module $AzBackupModule -ErrorAction Stop
        } catch {
            $message = "The AzBackup module '$AzBackupModule' could not be imported on $([System.Environment]::MachineName): $($_.Exception.Message)"
            $record = [System.Management.Automation.ErrorRecord]::new([System.Exception]::new($message), 'AZB_REMOTE_MODULE_NOT_FOUND', 'ObjectNotFound', $AzBackupModule)
            $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($message)
            $record.ErrorDetails.RecommendedAction = 'Install the AzBackup module on this server (release archive or .deb), or give its name or path with -ModuleName.'
            throw $record
        }
        # A missing engine, or one of another protocol version, stops here with its own code.
        $null = Get-AzBackupEngine -ErrorAction Stop
        & ([scriptblock]::Create($AzBackupScript)) @AzBackupArguments
    }

    function New-RemoteResult($Name, $PortNumber, $Output, $Errors, $Warnings, $Code) {
        $first = @($Errors)[0]
        if (-not $Code -and $first) {
            $id = ([string]$first.FullyQualifiedErrorId -split ',')[0]
            $Code = if ($id -like 'AZB_*') { $id } else { 'AZB_REMOTE_SCRIPT_FAILED' }
        }
        $message = if ($first) { if ($first.ErrorDetails -and $first.ErrorDetails.Message) { $first.ErrorDetails.Message } else { $first.Exception.Message } }
        [pscustomobject]@{
            PSTypeName   = 'AzBackup.RemoteResult'
            ComputerName = $Name
            Port         = $PortNumber
            Success      = -not $Code
            Output       = @($Output | Where-Object { $null -ne $_ })
            Error        = $message
            ErrorCode    = $Code
            Errors       = @($Errors)
            Warnings     = @($Warnings | ForEach-Object { [string]$_.Message })
        }
    }

    function Get-SessionPort($PSSessionObject) {
        $info = $PSSessionObject.Runspace.ConnectionInfo
        if ($info -and $info.PSObject.Properties['Port']) { $info.Port } else { $null }
    }

    # Each slot is one server: its session, or why there is none.
    $slots = [System.Collections.Generic.List[object]]::new()
    $opened = @()
    if ($PSCmdlet.ParameterSetName -eq 'HostName') {
        $connect = @{ HostName = $HostName; ErrorAction = 'SilentlyContinue'; ErrorVariable = 'connectErrors' }
        foreach ($name in 'UserName', 'KeyFilePath', 'Port', 'Options') { if ($PSBoundParameters.ContainsKey($name)) { $connect[$name] = $PSBoundParameters[$name] } }
        $connectErrors = $null
        $opened = @(New-PSSession @connect)
        $unclaimed = [System.Collections.Generic.List[object]]::new([object[]]$opened)
        $failures = [System.Collections.Generic.List[object]]::new([object[]]@($connectErrors))
        foreach ($name in $HostName) {
            $match = $unclaimed | Where-Object { $_.ComputerName -eq $name } | Select-Object -First 1
            if ($match) {
                $null = $unclaimed.Remove($match)
                $slots.Add([pscustomobject]@{ Name = $name; Port = Get-SessionPort $match; Session = $match; Failure = $null })
            } else {
                $why = $failures | Where-Object { "$($_.TargetObject)" -like "*$name*" -or $_.Exception.Message -like "*$name*" } | Select-Object -First 1
                if (-not $why -and $failures.Count) { $why = $failures[0] }
                if ($why) { $null = $failures.Remove($why) }
                $text = "No session could be opened to ${name}: $(if ($why) { $why.Exception.Message } else { 'the connection failed' })"
                $slots.Add([pscustomobject]@{ Name = $name; Port = $(if ($Port) { $Port } else { 22 }); Session = $null; Failure = @{ Code = 'AZB_REMOTE_CONNECT_FAILED'; Message = $text } })
            }
        }
    } else {
        foreach ($s in $Session) {
            $failure = if ($s.State -ne 'Opened') { @{ Code = 'AZB_REMOTE_SESSION_UNAVAILABLE'; Message = "The session to $($s.ComputerName) ($($s.Name)) is $($s.State), not open." } }
            $slots.Add([pscustomobject]@{ Name = $s.ComputerName; Port = Get-SessionPort $s; Session = $s; Failure = $failure })
        }
    }

    try {
        $ready = @($slots | Where-Object { -not $_.Failure })
        $children = @{}
        if ($ready.Count) {
            $job = Invoke-Command -Session @($ready.Session) -ScriptBlock $serverScript -ArgumentList $ModuleName, $ScriptBlock.ToString(), $ArgumentList -AsJob -ThrottleLimit $ThrottleLimit
            try {
                # Progress is the number of servers done; the wait polls, so Ctrl+C stops it (and, in finally, the job).
                $prompted = @{}
                while ($job.ChildJobs | Where-Object { $_.State -in 'NotStarted', 'Running', 'Blocked' }) {
                    # No one can answer a prompt on a server: a server that asks is stopped and says so.
                        foreach ($child in @($job.ChildJobs | Where-Object { $_.State -eq 'Blocked' })) {
                        $prompted[$child.InstanceId] = $true
                        $child.StopJob()
                    }
                    $done = @($job.ChildJobs | Where-Object { $_.State -notin 'NotStarted', 'Running', 'Blocked' }).Count
                    Write-Progress -Activity 'Invoke-AzBackupCommand' -Status "$done of $($ready.Count) servers done" -PercentComplete ([int](100 * $done / $ready.Count))
                    # Wait-Job refuses (throws) while a job is blocked on a prompt: the next turn stops that one.
                    try { $null = Wait-Job -Job $job -Timeout 1 } catch [System.ArgumentException] { Write-Debug "Invoke-AzBackupCommand: $($_.Exception.Message)" }
                }
                Write-Progress -Activity 'Invoke-AzBackupCommand' -Completed
                foreach ($child in $job.ChildJobs) {
                    # The job's own collections, not Receive-Job: that would replay a prompt here, after the fact.
                    $output = @($child.Output.ReadAll())
                    $childErrors = @($child.Error.ReadAll())
                    $childWarnings = @($child.Warning.ReadAll())
                    $reason = $child.JobStateInfo.Reason
                    $broken = $reason -is [System.Management.Automation.Remoting.PSRemotingTransportException]
                    $errors = @($childErrors)
                    if ($reason -and -not ($errors | Where-Object { $_.Exception.Message -eq $reason.Message })) {
                        $errors += if ($reason -is [System.Management.Automation.IContainsErrorRecord]) { $reason.ErrorRecord } else { [System.Management.Automation.ErrorRecord]::new($reason, 'AZB_REMOTE_SCRIPT_FAILED', 'NotSpecified', $null) }
                    }
                    $code = if ($prompted[$child.InstanceId]) {
                        $errors = @(New-AzBackupErrorRecord -Code 'AZB_REMOTE_INTERACTION_REQUIRED' -Category 'InvalidOperation' -Target $child.Location `
                            -Message "The script block asked for an answer on $($child.Location) (a confirmation or Read-Host), and no one can answer there: it was stopped." `
                            -Hint 'Give -Confirm:$false (or -Force) to cmdlets that ask, and pass secrets with -ArgumentList or as files on the server.') + $errors
                        'AZB_REMOTE_INTERACTION_REQUIRED'
                    } elseif ($broken) { 'AZB_REMOTE_SESSION_BROKEN' }
                    $children[$child.Runspace.InstanceId] = @{ Output = $output; Errors = $errors; Warnings = $childWarnings; Code = $code }
                }
            } finally {
                if ($job.State -in 'NotStarted', 'Running') { Stop-Job -Job $job }
                Remove-Job -Job $job -Force
            }
        }
        foreach ($slot in $slots) {
            if ($slot.Failure) {
                $record = New-AzBackupErrorRecord -Code $slot.Failure.Code -Category 'ConnectionError' -Target $slot.Name -Message $slot.Failure.Message `
                    -Hint 'Check that the server is reachable, that its sshd has the powershell subsystem (or WinRM is on), and that you can log on with the user and key given.'
                New-RemoteResult $slot.Name $slot.Port @() @($record) @() $slot.Failure.Code
                continue
            }
            $got = $children[$slot.Session.Runspace.InstanceId]
            if (-not $got) { $got = @{ Output = @(); Errors = @(); Warnings = @(); Code = 'AZB_REMOTE_SESSION_BROKEN' } }
            New-RemoteResult $slot.Name $slot.Port $got.Output $got.Errors $got.Warnings $got.Code
        }
    } finally {
        if ($opened.Count) { Remove-PSSession -Session $opened -ErrorAction SilentlyContinue }
    }
}
