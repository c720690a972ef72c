function Test-AzBackupSource {
    <#
    .SYNOPSIS
        Checks whether paths can be backed up: one verdict per path, eligible or refused with a code.
    .DESCRIPTION
        Runs the check every backup and every policy save runs on its sources, on demand. A path can be
        backed up when it is on a local, fixed, writable disk file system that answers.

        On Linux the engine reads the mount table, statfs and sysfs. Accepted file systems: ext2, ext3,
        ext4, xfs, btrfs, zfs, f2fs and ntfs3. Refused: network file systems (nfs, cifs, sshfs and other
        FUSE network mounts: AZB_SOURCE_NETWORK), removable devices (AZB_SOURCE_REMOVABLE), read-only
        mounts or devices (AZB_SOURCE_READ_ONLY), paths whose device does not answer within the time-out
        or whose planned mount (/etc/fstab) is not mounted (AZB_SOURCE_OFFLINE), other file systems such
        as tmpfs, proc or overlay (AZB_SOURCE_FILE_SYSTEM), paths this account cannot reach
        (AZB_SOURCE_ACCESS_DENIED) and missing paths (AZB_SOURCE_NOT_FOUND).

        On Windows the module checks the volume as the MARS agent does: UNC paths and mapped network
        drives are refused (AZB_SOURCE_NETWORK); the volume of the drive letter (Get-Volume) must be
        online (AZB_SOURCE_OFFLINE), a fixed drive (AZB_SOURCE_REMOVABLE), NTFS or ReFS
        (AZB_SOURCE_FILE_SYSTEM), and its partition writable (Get-Partition, AZB_SOURCE_READ_ONLY). This
        has not yet run on Windows.

        Each path gives one AzBackup.SourceVerdict. A refused path is a verdict, not an error: use its
        Eligible, Code and Hint in scripts, or -Quiet. Errors are for input the check cannot take.
        Relative paths are resolved against the current PowerShell location; wildcards are not expanded.
    .PARAMETER Path
        The paths to check (files or folders). Binds from the pipeline: strings, or objects with a
        FullName or Path property (Get-Item, Get-ChildItem).
    .PARAMETER TimeoutSeconds
        How long (1-3600 seconds) a path's device or server gets to answer before the path counts as
        offline (Linux). Default: 10.
    .PARAMETER Quiet
        Return one Boolean instead of the verdicts: $true when every path can be backed up.
    .EXAMPLE
        Test-AzBackupSource -Path /srv/data, /mnt/nfs, /tmp

        Path                 Eligible Code                     FileSystem MountPoint
        ----                 -------- ----                     ---------- ----------
        /srv/data            True                              ext4       /srv
        /mnt/nfs             False    AZB_SOURCE_NETWORK       nfs4       /mnt/nfs
        /tmp                 False    AZB_SOURCE_FILE_SYSTEM   tmpfs      /tmp

        Checks three sources before putting them in a policy.
    .EXAMPLE
        Get-ChildItem /srv -Directory | Test-AzBackupSource | Where-Object { -not $_.Eligible } | Format-List Path, Message, Hint

        Lists the folders under /srv that cannot be backed up, with what to do about each.
    .EXAMPLE
        if (-not (Test-AzBackupSource -Path D:\Data -Quiet)) { throw 'D:\Data cannot be backed up' }

        A guard in a script: one Boolean for all paths.
    .INPUTS
        System.String, or objects with a FullName or Path property.
    .OUTPUTS
        AzBackup.SourceVerdict, or System.Boolean with -Quiet.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.SourceVerdict', [bool])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Path,

        [ValidateRange(1, 3600)]
        [int]$TimeoutSeconds,

        [switch]$Quiet
    )
    begin {
        $paths = [System.Collections.Generic.List[string]]::new()
        $rejected = 0
        $windows = Test-AzBackupIsWindows
    }
    process {
        foreach ($given in $Path) {
            # Absolute paths are taken as they are (a drive that is gone is a verdict, not a
            # DriveNotFound error); relative ones against the current PowerShell location. The pattern
            # is what IsPathFullyQualified accepts on Windows (C:\..., \\server\share), so that the
            # Windows check also takes them where it runs mocked.
            if ([System.IO.Path]::IsPathFullyQualified($given) -or ($windows -and $given -match '^([A-Za-z]:[\\/]|[\\/]{2})')) {
                $paths.Add($given)
                continue
            }
            $provider = $null
            $drive = $null
            try {
                $resolved = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($given, [ref]$provider, [ref]$drive)
            } catch {
                $resolved = $null
            }
            if (-not $resolved -or $provider.Name -ne 'FileSystem') {
                $rejected++
                $PSCmdlet.WriteError((New-AzBackupErrorRecord -Code 'AZB_ARGS_INVALID' -Category 'InvalidArgument' -Target $given `
                    -Message "The source '$given' is not a file system path$(if ($provider) { " (it is in the $($provider.Name) provider)" })." `
                    -Hint 'Give an absolute path, or a relative one from a file system location (Set-Location to a folder first).'))
                continue
            }
            $paths.Add($resolved)
        }
    }
    end {
        if ($paths.Count -eq 0) {
            if ($Quiet) { $false }
            return
        }
        $splat = @{ Path = $paths.ToArray(); Caller = $PSCmdlet }
        if ($PSBoundParameters.ContainsKey('TimeoutSeconds')) { $splat.TimeoutSeconds = $TimeoutSeconds }
        if (-not $Quiet) {
            Get-AzBackupSourceVerdict @splat
            return
        }
        $verdicts = @(Get-AzBackupSourceVerdict @splat)
        # All eligible means every path was judged (none rejected, no engine error) and none refused.
        $rejected -eq 0 -and $verdicts.Count -eq $paths.Count -and -not ($verdicts | Where-Object { -not $_.Eligible })
    }
}
