function Resolve-AzBackupEngine {
    <#
    .SYNOPSIS
        Finds the engine executable ($env:AZBACKUP_ENGINE, then the module's bin folder, then the build
        output of a source checkout, then azbackup on PATH) and checks once per build that it speaks a
        protocol version this module knows.
        Returns an AzBackup.EngineInfo object, or writes an error through -Caller and returns nothing.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][System.Management.Automation.PSCmdlet]$Caller
    )
    $exeName = if ($IsWindows) { 'azbackup.exe' } else { 'azbackup' }
    $candidates = if ($env:AZBACKUP_ENGINE) {
        @($env:AZBACKUP_ENGINE)
    } else {
        @((Join-Path $script:ModuleRoot "bin/$exeName"), (Join-Path $script:ModuleRoot "../bundle/dist/$exeName"))
    }
    $path = $candidates | Where-Object { Test-Path -LiteralPath $_ -PathType Leaf } | Select-Object -First 1
    if (-not $path -and -not $env:AZBACKUP_ENGINE) {
        $onPath = Get-Command -Name $exeName -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($onPath) { $path = $onPath.Source }
        $candidates += "$exeName on PATH"
    }
    if (-not $path) {
        $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_ENGINE_NOT_FOUND' -Category 'ObjectNotFound' -Target ($candidates -join '; ') `
            -Message "The AzBackup engine was not found (looked for: $($candidates -join ', '))." `
            -Hint 'Install the engine with the module (the release archive''s install script puts it in the module''s bin folder and on PATH), or set $env:AZBACKUP_ENGINE to the azbackup executable. In a source checkout, build it with "npm run build".'))
        return
    }
    $item = Get-Item -LiteralPath $path
    $key = '{0}|{1}' -f $item.FullName, $item.LastWriteTimeUtc.Ticks
    if ($script:EngineCache.ContainsKey($key)) { return $script:EngineCache[$key] }

    $unusable = {
        param($why)
        $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_ENGINE_UNUSABLE' -Category 'ResourceUnavailable' -Target $item.FullName `
            -Message "The AzBackup engine at $($item.FullName) did not answer a version probe: $why" `
            -Hint 'Reinstall the engine with the module from the same release, or point $env:AZBACKUP_ENGINE at a working azbackup executable (in a source checkout: "npm run build").'))
    }
    try {
        $process = Start-AzBackupEngineProcess -Path $item.FullName -ArgumentList @('--version', '--json')
    } catch {
        & $unusable $_.Exception.Message
        return
    }
    $process.StandardInput.Close()
    $stderrTask = $process.StandardError.ReadToEndAsync()
    $stdout = $process.StandardOutput.ReadToEnd()
    $process.WaitForExit()
    $null = $stderrTask.Wait(5000)
    $version = $null
    foreach ($line in $stdout -split "`n") {
        if (-not $line.Trim()) { continue }
        try { $engineEvent = $line | ConvertFrom-Json -ErrorAction Stop } catch { continue }
        if ($engineEvent.type -eq 'result' -and $engineEvent.kind -eq 'Version') { $version = $engineEvent.data }
    }
    if ($null -eq $version -or $null -eq $version.protocolVersion) {
        & $unusable "exit code $($process.ExitCode), no version result."
        return
    }
    $known = @($MyInvocation.MyCommand.Module.PrivateData.AzBackupProtocolVersions)
    if ([int]$version.protocolVersion -notin $known) {
        $Caller.WriteError((New-AzBackupErrorRecord -Code 'AZB_ENGINE_PROTOCOL_UNSUPPORTED' -Category 'InvalidOperation' -Target $item.FullName `
            -Message "The AzBackup engine at $($item.FullName) speaks protocol version $($version.protocolVersion); this module understands version(s) $($known -join ', ')." `
            -Hint 'Install the engine and the module from the same release.'))
        return
    }
    $info = [pscustomobject]@{
        PSTypeName      = 'AzBackup.EngineInfo'
        Path            = $item.FullName
        EngineVersion   = [string]$version.engineVersion
        ProtocolVersion = [int]$version.protocolVersion
        NodeVersion     = [string]$version.nodeVersion
        Platform        = [string]$version.platform
    }
    $script:EngineCache[$key] = $info
    $info
}
