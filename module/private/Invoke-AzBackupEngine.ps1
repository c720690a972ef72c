function Invoke-AzBackupEngine {
    <#
    .SYNOPSIS
        Runs one engine command: sends the JSON request on stdin (the only way secrets travel), reads
        NDJSON events from stdout and turns them into PowerShell: progress -> Write-Progress,
        log -> Write-Verbose/Write-Debug, warning -> Write-Warning, item/result -> typed objects,
        error -> one ErrorRecord written through the calling cmdlet (ErrorId = the engine's code).
    .OUTPUTS
        Typed objects (AzBackup.<Kind>) for item and result events, filtered by -Output.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][string]$Command,
        [System.Collections.IDictionary]$Arguments = @{},
        # Name -> SecureString. Converted to plain text only while the request is written to stdin.
        [System.Collections.IDictionary]$Secrets = @{},
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller,
        [ValidateSet('All', 'Items', 'Result')][string]$Output = 'All'
    )
    $engine = Resolve-AzBackupEngine -Caller $Caller
    if (-not $engine) { return }

    $process = Start-AzBackupEngineProcess -Path $engine.Path -ArgumentList @('rpc')
    $stderrTask = $process.StandardError.ReadToEndAsync()
    try {
        $plain = @{}
        foreach ($name in $Secrets.Keys) {
            if ($null -ne $Secrets[$name]) { $plain[$name] = [System.Net.NetworkCredential]::new('', $Secrets[$name]).Password }
        }
        $request = [ordered]@{ protocolVersion = $engine.ProtocolVersion; command = $Command; args = $Arguments }
        if ($plain.Count -gt 0) { $request.secrets = $plain }
        $process.StandardInput.Write(($request | ConvertTo-Json -Depth 32 -Compress))
        $process.StandardInput.Close()
    } catch [System.IO.IOException] {
        # The engine closed stdin early (it crashed or refused); what it printed tells why.
        Write-Debug "AzBackup engine closed stdin: $($_.Exception.Message)"
    } finally {
        $plain = $null
        $request = $null
    }

    $errorSeen = $false
    $activityIds = @{}
    while ($null -ne ($line = $process.StandardOutput.ReadLine())) {
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
                $Caller.WriteProgress($record)
            }
            'log' {
                if ($engineEvent.level -eq 'debug') { $Caller.WriteDebug($engineEvent.message) } else { $Caller.WriteVerbose($engineEvent.message) }
            }
            'warning' { $Caller.WriteWarning($engineEvent.message) }
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
    $process.WaitForExit()
    foreach ($id in $activityIds.Values) {
        $done = [System.Management.Automation.ProgressRecord]::new($id, 'AzBackup', 'Done')
        $done.RecordType = [System.Management.Automation.ProgressRecordType]::Completed
        $Caller.WriteProgress($done)
    }
    $stderr = if ($stderrTask.Wait(5000)) { $stderrTask.Result } else { '' }
    if ($stderr) { Write-Debug "AzBackup engine stderr: $stderr" }
    # Exit codes 0 (ok), 3 (completed with warnings) and 4 (not compliant) are not failures.
    if (-not $errorSeen -and $process.ExitCode -notin 0, 3, 4) {
        $tail = (($stderr -split "`n") | Where-Object { $_.Trim() } | Select-Object -Last 3) -join ' | '
        $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_ENGINE_FAILED' -Category 'NotSpecified' -Target $engine.Path `
            -Message "The AzBackup engine ended with exit code $($process.ExitCode) without reporting an error.$(if ($tail) { " Engine output: $tail" })" `
            -Hint 'Run the same operation with -Debug to see the engine output, and report it if it persists.'))
    }
    $process.Dispose()
}
