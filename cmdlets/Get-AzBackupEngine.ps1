function Get-AzBackupEngine {
    <#
    .SYNOPSIS
        Shows which AzBackup engine executable the module uses, and its version.
    .DESCRIPTION
        The module runs every operation in the AzBackup engine, a native executable. It looks for it at
        $env:AZBACKUP_ENGINE, then next to the module (bin/azbackup: install.sh and the .deb put a link to
        the installed engine there), then in the build output of a source checkout (bundle/dist/azbackup),
        then on PATH, and refuses an engine whose protocol version it does not know.
        Use this cmdlet to check what a server will run before you fan out a job with Invoke-Command.
    .EXAMPLE
        Get-AzBackupEngine

        Shows the engine path, engine version, protocol version and runtime.
    .EXAMPLE
        Invoke-Command -ComputerName srv01, srv02 -ScriptBlock { Import-Module AzBackup; Get-AzBackupEngine } |
            Select-Object PSComputerName, EngineVersion

        Compares the engine versions installed on several servers.
    .OUTPUTS
        AzBackup.EngineInfo
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.EngineInfo')]
    param()
    Resolve-AzBackupEngine -Caller $PSCmdlet
}
