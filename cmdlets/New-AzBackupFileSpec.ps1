function New-AzBackupFileSpec {
    <#
    .SYNOPSIS
        Makes file specs for a policy: folders or files to back up, with exclusions.
    .DESCRIPTION
        One AzBackup.FileSpec per path, for Add-AzBackupFileSpec. Paths are resolved against the
        current location. Overlapping specs (one inside another, or the same twice) are refused when
        the policy is saved; leave out a sub-folder with -Exclude instead.
    .PARAMETER FileSpec
        Folders or files to back up.
    .PARAMETER Exclude
        Globs of paths or names to leave out (as Start-AzBackup -Exclude); they apply to the whole policy.
    .PARAMETER NonRecursive
        Back up only the files directly in each folder, not its sub-folders.
    .EXAMPLE
        New-AzBackupFileSpec -FileSpec /srv/data, /etc -Exclude '*.tmp', '/srv/data/cache'

        Two specs that leave out temporary files and a cache folder.
    .EXAMPLE
        New-AzBackupFileSpec -FileSpec /var/log -NonRecursive

        The files in /var/log, without its sub-folders.
    .OUTPUTS
        AzBackup.FileSpec
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.FileSpec')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName', 'Path')]
        [ValidateNotNullOrEmpty()]
        [string[]]$FileSpec,

        [ValidateNotNullOrEmpty()]
        [string[]]$Exclude = @(),

        [switch]$NonRecursive
    )
    process {
        foreach ($path in $FileSpec) {
            [pscustomobject]@{
                PSTypeName   = 'AzBackup.FileSpec'
                FileSpec     = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($path)
                Exclude      = [string[]]@($Exclude | ForEach-Object { if ($_ -match '^\.\.?[\\/]') { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($_) } else { $_ } })
                NonRecursive = [bool]$NonRecursive
            }
        }
    }
}
