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
    .PARAMETER ExcludeCaches
        Leave out what is in folders below these paths that a CACHEDIR.TAG marks as caches (the folder and
        its tag are kept), as Start-AzBackup -ExcludeCaches.
    .PARAMETER OneFileSystem
        Do not cross into other file systems mounted below these paths (each mount point is kept as an
        empty folder), as Start-AzBackup -OneFileSystem.
    .EXAMPLE
        New-AzBackupFileSpec -FileSpec /srv/data, /etc -Exclude '*.tmp', '/srv/data/cache'

        Two specs that leave out temporary files and a cache folder.
    .EXAMPLE
        New-AzBackupFileSpec -FileSpec /var/log -NonRecursive

        The files in /var/log, without its sub-folders.
    .EXAMPLE
        New-AzBackupFileSpec -FileSpec / -OneFileSystem -ExcludeCaches

        The root file system without other mounts (/proc, /sys, other disks) and without caches.
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

        [switch]$NonRecursive,

        [switch]$ExcludeCaches,

        [switch]$OneFileSystem
    )
    process {
        foreach ($path in $FileSpec) {
            [pscustomobject]@{
                PSTypeName   = 'AzBackup.FileSpec'
                FileSpec      = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($path)
                Exclude       = [string[]]@($Exclude | ForEach-Object { if ($_ -match '^\.\.?[\\/]') { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($_) } else { $_ } })
                NonRecursive  = [bool]$NonRecursive
                ExcludeCaches = [bool]$ExcludeCaches
                OneFileSystem = [bool]$OneFileSystem
            }
        }
    }
}
