function Start-AzBackupEngineProcess {
    <#
    .SYNOPSIS
        Starts the engine with System.Diagnostics.Process (never the call operator): stdin, stdout and
        stderr are all redirected, so raw stderr can never reach PowerShell's error stream.
    #>
    [CmdletBinding()]
    [OutputType([System.Diagnostics.Process])]
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][string[]]$ArgumentList
    )
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($Path)
    foreach ($argument in $ArgumentList) { $startInfo.ArgumentList.Add($argument) }
    $startInfo.UseShellExecute = $false
    $startInfo.CreateNoWindow = $true
    $startInfo.RedirectStandardInput = $true
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $utf8 = [System.Text.UTF8Encoding]::new($false)
    $startInfo.StandardInputEncoding = $utf8
    $startInfo.StandardOutputEncoding = $utf8
    $startInfo.StandardErrorEncoding = $utf8
    # The engine resolves relative paths against its own working directory; make it PowerShell's location.
    $location = $ExecutionContext.SessionState.Path.CurrentFileSystemLocation
    if ($location -and (Test-Path -LiteralPath $location.ProviderPath -PathType Container)) {
        $startInfo.WorkingDirectory = $location.ProviderPath
    }
    [System.Diagnostics.Process]::Start($startInfo)
}
