function Invoke-AzBackupEngine {
    <#
    .SYNOPSIS
        Runs one engine command: sends the JSON request on stdin (the only way secrets travel), reads
        NDJSON events from stdout and turns them into PowerShell: progress -> Write-Progress,
        log -> Write-Verbose/Write-Debug, warning -> Write-Warning, item/result -> typed objects,
        error -> one ErrorRecord written through the calling cmdlet (ErrorId = the engine's code).
    .DESCRIPTION
        With -InputCommand, the standard output of that native command is the data of the request
        (backup of a stream): the request goes to the engine as the first line of its stdin and the
        command's stdout is copied, byte for byte and asynchronously, right after it, while the engine's
        events keep being read here. When the command ends with exit code 0, the engine's stdin is closed
        and the engine finishes; when it fails, the engine is killed before it sees the end of the data,
        so it writes no recovery point, and one AZB_SOURCE_COMMAND_FAILED error is written. The command's
        stderr goes to Write-Verbose, never to the error stream.
    .OUTPUTS
        Typed objects (AzBackup.<Kind>) for item and result events, filtered by -Output.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][string]$Command,
        [System.Collections.IDictionary]$Arguments = @{},
        # Name -> SecureString. Converted to plain text only while the request is written to stdin.
        [System.Collections.IDictionary]$Secrets = @{},
        # Name -> path of a file holding that secret (-PassphraseFile). The engine reads the file (owner-only,
        # as the CLI's --passphrase-file); the path, not the secret, goes into the request. Empty values are skipped.
        [System.Collections.IDictionary]$SecretFiles = @{},
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller,
        [ValidateSet('All', 'Items', 'Result')][string]$Output = 'All',
        # A preview call (a -WhatIf run before the real one): its warnings would only repeat.
        [switch]$SuppressWarnings,
        # Native command whose stdout is streamed to the engine after the request line.
        [string]$InputCommand,
        [string[]]$InputArgumentList = @()
    )
    $engine = Resolve-AzBackupEngine -Caller $Caller
    if (-not $engine) { return }

    function Stop-EngineProcess([System.Diagnostics.Process]$Process, [bool]$ControlChannel) {
        # Asks the engine to cancel at a safe point (its job then ends Cancelled, nothing half-written),
        # waits up to 30 s for it to finish, and only then kills it. The ask: a cancel message on stdin when
        # stdin is the request's control channel (every platform; Windows has no SIGTERM), else SIGTERM;
        # on Windows with stdin carrying data there is no way to ask, so the process is killed.
        try {
            if ($Process.HasExited) { return }
            $asked = $false
            if ($ControlChannel) {
                try {
                    $Process.StandardInput.Write('{"type":"cancel"}' + "`n")
                    $Process.StandardInput.Flush()
                    $asked = $true
                } catch [System.IO.IOException] {
                    Write-Debug "AzBackup engine: cancel message not delivered: $($_.Exception.Message)"
                } catch [System.ObjectDisposedException] {
                    Write-Debug "AzBackup engine: cancel message not delivered: $($_.Exception.Message)"
                }
            }
            if (-not $asked -and -not $IsWindows) {
                # kill's own output (the engine may end just before the signal) goes nowhere near the user.
                $kill = [System.Diagnostics.ProcessStartInfo]::new('kill')
                $kill.ArgumentList.Add('-TERM')
                $kill.ArgumentList.Add([string]$Process.Id)
                $kill.RedirectStandardError = $true
                $kill.RedirectStandardOutput = $true
                $kill.UseShellExecute = $false
                $terminate = [System.Diagnostics.Process]::Start($kill)
                $null = $terminate.StandardError.ReadToEnd()
                $terminate.WaitForExit()
                $asked = $true
            }
            if ($asked -and $Process.WaitForExit(30000)) { return }
            $Process.Kill()
        } catch {
            Write-Debug "AzBackup engine: $($_.Exception.Message)"
        }
    }

    function Stop-SourceProcess([System.Diagnostics.Process]$Source) {
        # Kills the source command and what it started, and waits until it is gone.
        try {
            if (-not $Source.HasExited) { $Source.Kill($true) }
            $null = $Source.WaitForExit(5000)
        } catch {
            Write-Debug "Source command: $($_.Exception.Message)"
        }
    }

    $source = $null
    if ($InputCommand) {
        $application = Get-Command -Name $InputCommand -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $application) {
            $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_SOURCE_COMMAND_NOT_FOUND' -Category 'ObjectNotFound' -Target $InputCommand `
                -Message "The source command '$InputCommand' was not found." `
                -Hint 'Give the name of a program on the PATH, or the path of an executable file.'))
            return
        }
        $commandLine = (@($InputCommand) + $InputArgumentList) -join ' '
        $sourceInfo = [System.Diagnostics.ProcessStartInfo]::new($application.Source)
        foreach ($argument in $InputArgumentList) { $sourceInfo.ArgumentList.Add($argument) }
        $sourceInfo.UseShellExecute = $false
        $sourceInfo.CreateNoWindow = $true
        $sourceInfo.RedirectStandardInput = $true
        $sourceInfo.RedirectStandardOutput = $true
        $sourceInfo.RedirectStandardError = $true
        $sourceInfo.StandardErrorEncoding = [System.Text.UTF8Encoding]::new($false)
        # Whatever the command prints is stored in the backup, and it needs none of AzBackup's own
        # variables, several of which are secrets (AZBACKUP_PASSPHRASE, AZBACKUP_STORAGE_KEY, _SAS,
        # _CONNECTION_STRING, AZBACKUP_PROXY_PASSWORD, and the _FILE forms naming secret files): it
        # gets an environment without any AZBACKUP_ variable. -like ignores case, as Windows does.
        foreach ($name in @($sourceInfo.Environment.Keys)) {
            if ($name -like 'AZBACKUP_*') { $null = $sourceInfo.Environment.Remove($name) }
        }
        $location = $ExecutionContext.SessionState.Path.CurrentFileSystemLocation
        if ($location -and (Test-Path -LiteralPath $location.ProviderPath -PathType Container)) { $sourceInfo.WorkingDirectory = $location.ProviderPath }
        try {
            $source = [System.Diagnostics.Process]::Start($sourceInfo)
        } catch {
            $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_SOURCE_COMMAND_FAILED' -Category 'InvalidResult' -Target $commandLine `
                -Message "The source command '$commandLine' could not be started: $($_.Exception.Message)" `
                -Hint 'Check that the command is an executable this account may run.'))
            return
        }
        # The source reads nothing: it gets end-of-file at once instead of waiting on the console.
        $source.StandardInput.Close()
        $sourceStderrTask = $source.StandardError.ReadToEndAsync()
    }

    try {
        $process = Start-AzBackupEngineProcess -Path $engine.Path -ArgumentList @('rpc')
    } catch {
        if ($source) { Stop-SourceProcess $source }
        throw
    }
    $stderrTask = $process.StandardError.ReadToEndAsync()
    $controlChannel = $false
    try {
        $plain = @{}
        foreach ($name in $Secrets.Keys) {
            if ($null -ne $Secrets[$name]) { $plain[$name] = [System.Net.NetworkCredential]::new('', $Secrets[$name]).Password }
        }
        $request = [ordered]@{ protocolVersion = $engine.ProtocolVersion; command = $Command; args = $Arguments }
        if ($plain.Count -gt 0) { $request.secrets = $plain }
        $files = @{}
        foreach ($name in $SecretFiles.Keys) {
            if ($SecretFiles[$name]) { $files[$name] = $Caller.GetUnresolvedProviderPathFromPSPath([string]$SecretFiles[$name]) }
        }
        if ($files.Count -gt 0) { $request.secretFiles = $files }
        if ($source) {
            # The request is the first line (compact JSON has no raw newline); the data follows it.
            $process.StandardInput.Write(($request | ConvertTo-Json -Depth 32 -Compress) + "`n")
            $process.StandardInput.Flush()
        } else {
            # stdin stays open as the control channel: a stopped pipeline sends the cancel message there.
            $request.control = 'stdin'
            $process.StandardInput.Write(($request | ConvertTo-Json -Depth 32 -Compress) + "`n")
            $process.StandardInput.Flush()
            $controlChannel = $true
        }
    } catch [System.IO.IOException] {
        # The engine closed stdin early (it crashed or refused); what it printed tells why.
        Write-Debug "AzBackup engine closed stdin: $($_.Exception.Message)"
    } finally {
        $plain = $null
        $request = $null
    }

    # Data pump (only with -InputCommand): Copying -> Exiting (source stdout ended) -> Done.
    $pumpState = 'Done'
    $copyTask = $null
    $sourceExitCode = $null
    if ($source) {
        $pumpState = 'Copying'
        try {
            $copyTask = $source.StandardOutput.BaseStream.CopyToAsync($process.StandardInput.BaseStream)
        } catch {
            # The engine is already gone; what it printed tells why. The source is not needed any more.
            Write-Debug "AzBackup engine stdin is closed: $($_.Exception.Message)"
            Stop-SourceProcess $source
            $pumpState = 'Done'
        }
    }

    $errorSeen = $false
    $engineEnded = $false
    $activityIds = @{}
    $pendingRead = $null
    try {
        while ($true) {
            if ($pumpState -eq 'Copying' -and $copyTask.IsCompleted) {
                if ($copyTask.IsFaulted -or $copyTask.IsCanceled) {
                    # The engine stopped reading (it failed or was stopped); its own events say why.
                    Write-Debug "AzBackup engine stopped reading the data: $($copyTask.Exception.InnerException.Message)"
                    Stop-SourceProcess $source
                    $pumpState = 'Done'
                } else {
                    $pumpState = 'Exiting'
                }
            }
            if ($pumpState -eq 'Exiting' -and $source.HasExited) {
                $source.WaitForExit()
                $sourceExitCode = $source.ExitCode
                if ($sourceExitCode -ne 0) {
                    # Never close stdin after a failed source: the engine would store the partial data.
                    try { $process.Kill() } catch { Write-Debug "AzBackup engine: $($_.Exception.Message)" }
                } else {
                    try { $process.StandardInput.Close() } catch [System.IO.IOException] { Write-Debug "AzBackup engine closed stdin: $($_.Exception.Message)" }
                }
                $pumpState = 'Done'
            }

            # Wait briefly for each event, never blocking: the pump is looked after while the engine is
            # quiet, and a stopped pipeline (Ctrl+C) is noticed at once.
            if ($null -eq $pendingRead) { $pendingRead = $process.StandardOutput.ReadLineAsync() }
            if (-not $pendingRead.Wait(100)) { continue }
            $line = $pendingRead.GetAwaiter().GetResult()
            $pendingRead = $null
            if ($null -eq $line) { $engineEnded = $true; break }
            if (-not $line.Trim()) { continue }
            try {
                $engineEvent = $line | ConvertFrom-Json -ErrorAction Stop
            } catch {
                Write-Debug "AzBackup engine wrote a line that is not JSON: $line"
                continue
            }
            switch ($engineEvent.type) {
                'progress' {
                    if (-not $activityIds.ContainsKey($engineEvent.activity)) { $activityIds[$engineEvent.activity] = $activityIds.Count + 1 }
                    $record = [System.Management.Automation.ProgressRecord]::new($activityIds[$engineEvent.activity], $engineEvent.activity, $engineEvent.status)
                    if ($null -ne $engineEvent.percent) { $record.PercentComplete = [int]$engineEvent.percent }
                    if ($engineEvent.currentItem) { $record.CurrentOperation = $engineEvent.currentItem }
                    if ($null -ne $engineEvent.secondsRemaining) { $record.SecondsRemaining = [int]$engineEvent.secondsRemaining }
                    $Caller.WriteProgress($record)
                }
                'log' {
                    if ($engineEvent.level -eq 'debug') { $Caller.WriteDebug($engineEvent.message) } else { $Caller.WriteVerbose($engineEvent.message) }
                }
                'warning' { if (-not $SuppressWarnings) { $Caller.WriteWarning($engineEvent.message) } }
                'item' { if ($Output -ne 'Result') { ConvertTo-AzBackupObject -Kind $engineEvent.kind -Data $engineEvent.data } }
                'result' { if ($Output -ne 'Items') { ConvertTo-AzBackupObject -Kind $engineEvent.kind -Data $engineEvent.data } }
                'error' {
                    $errorSeen = $true
                    $Caller.WriteError((New-AzBackupErrorRecord -Code $engineEvent.code -Message $engineEvent.message -Category $engineEvent.category `
                        -Hint $engineEvent.hint -Target $engineEvent.target))
                }
                default { Write-Debug "AzBackup engine sent an unknown event type '$($engineEvent.type)'." }
            }
        }
    } finally {
        if (-not $engineEnded -and -not $process.HasExited) {
            # The pipeline was stopped (Ctrl+C, Stop()) while the engine works: ask it to cancel as
            # Stop-AzBackupJob does, so the job ends Cancelled with nothing half-written. The source (if
            # any) is stopped only after that: an engine that saw its stream end would store it as whole.
            Stop-EngineProcess $process $controlChannel
        }
        if ($source -and $pumpState -ne 'Done') {
            # The engine ended before the data did: stop both sides.
            Stop-SourceProcess $source
            try { if (-not $process.HasExited) { $process.Kill() } } catch { Write-Debug "AzBackup engine: $($_.Exception.Message)" }
        }
    }
    $process.WaitForExit()
    if ($controlChannel) { try { $process.StandardInput.Close() } catch { Write-Debug "AzBackup engine: $($_.Exception.Message)" } }
    foreach ($id in $activityIds.Values) {
        $done = [System.Management.Automation.ProgressRecord]::new($id, 'AzBackup', 'Done')
        $done.RecordType = [System.Management.Automation.ProgressRecordType]::Completed
        $Caller.WriteProgress($done)
    }
    $stderr = if ($stderrTask.Wait(5000)) { $stderrTask.Result } else { '' }
    if ($stderr) { Write-Debug "AzBackup engine stderr: $stderr" }

    $sourceStderr = ''
    if ($source) {
        $sourceStderr = if ($sourceStderrTask.Wait(5000)) { $sourceStderrTask.Result } else { '' }
        foreach ($errorLine in $sourceStderr -split "`r?`n" | Where-Object { $_.Trim() }) { $Caller.WriteVerbose("${InputCommand}: $errorLine") }
        $source.Dispose()
    }
    if ($null -ne $sourceExitCode -and $sourceExitCode -ne 0) {
        $tail = (($sourceStderr -split "`r?`n") | Where-Object { $_.Trim() } | Select-Object -Last 3) -join ' | '
        $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_SOURCE_COMMAND_FAILED' -Category 'InvalidResult' -Target $commandLine `
            -Message "The source command '$commandLine' ended with exit code $sourceExitCode; the backup was stopped and no recovery point was written.$(if ($tail) { " Its error output: $tail" })" `
            -Hint 'Run the command on its own to see why it fails; its error output is shown with -Verbose.'))
    } elseif (-not $errorSeen -and $process.ExitCode -notin 0, 3, 4) {
        # Exit codes 0 (ok), 3 (completed with warnings) and 4 (not compliant) are not failures.
        $tail = (($stderr -split "`n") | Where-Object { $_.Trim() } | Select-Object -Last 3) -join ' | '
        $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_ENGINE_FAILED' -Category 'NotSpecified' -Target $engine.Path `
            -Message "The AzBackup engine ended with exit code $($process.ExitCode) without reporting an error.$(if ($tail) { " Engine output: $tail" })" `
            -Hint 'Run the same operation with -Debug to see the engine output, and report it if it persists.'))
    }
    $process.Dispose()
}
