# Source eligibility (README "Test-AzBackupSource"): whether a path can be backed up. On Linux the engine
# judges it (source.test: mountinfo, statfs, sysfs); on Windows the engine does not, so the module judges
# it here, as the MARS agent does: a local, fixed, online, writable NTFS or ReFS volume. Not yet run on
# Windows; the Pester tests mock Get-CimInstance, Get-Volume and Get-Partition.

# Windows file systems accepted: NTFS, as the model agent, and ReFS (the server file system that
# replaces it on data volumes, with the same files-and-folders semantics for a file backup).
$script:WindowsSourceFileSystems = @('NTFS', 'ReFS')

$script:SourceRefusalCodes = @{
    Network = 'AZB_SOURCE_NETWORK'; Removable = 'AZB_SOURCE_REMOVABLE'; ReadOnly = 'AZB_SOURCE_READ_ONLY'
    Offline = 'AZB_SOURCE_OFFLINE'; FileSystem = 'AZB_SOURCE_FILE_SYSTEM'; AccessDenied = 'AZB_SOURCE_ACCESS_DENIED'
}

$script:WindowsSourceHints = @{
    Network   = 'Back it up on the server whose disk holds it, or copy it to a local disk first.'
    Removable = 'Back up fixed disks only; copy what you need from the removable drive to a fixed disk first.'
    ReadOnly  = 'Make the volume writable (Set-Partition -IsReadOnly $false) or copy the data to a writable local disk.'
    Offline   = 'Bring the volume online (Set-Disk -IsOffline $false) or connect its disk, check the path, then run the backup again.'
    FileSystem = 'Back up data on an NTFS or ReFS volume; copy it there first, or convert the volume (convert X: /fs:ntfs).'
}

function Test-AzBackupIsWindows {
    <#
    .SYNOPSIS
        Whether the module judges sources itself (on Windows): a function, so tests can mock it.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param()
    [bool]$IsWindows
}

function New-AzBackupSourceVerdict {
    <#
    .SYNOPSIS
        An AzBackup.SourceVerdict with every property present (the engine leaves out the empty ones), so
        that verdicts from the engine and from the Windows check look alike.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.SourceVerdict')]
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][string]$Reason,
        [Parameter(Mandatory)][string]$Message,
        [AllowNull()][string]$Code,
        [AllowNull()][string]$Hint,
        [AllowNull()][string]$MountPoint,
        [AllowNull()][string]$FileSystem,
        [AllowNull()][string]$Device
    )
    $eligible = $Reason -eq 'Eligible'
    if (-not $eligible -and -not $Code) { $Code = $script:SourceRefusalCodes[$Reason] }
    [pscustomobject][ordered]@{
        PSTypeName = 'AzBackup.SourceVerdict'
        Path       = $Path
        Eligible   = $eligible
        Reason     = $Reason
        Code       = if ($eligible -or -not $Code) { $null } else { $Code }
        Message    = $Message
        Hint       = if ($Hint) { $Hint } else { $null }
        MountPoint = if ($MountPoint) { $MountPoint } else { $null }
        FileSystem = if ($FileSystem) { $FileSystem } else { $null }
        Device     = if ($Device) { $Device } else { $null }
    }
}

function Get-AzBackupWindowsSourceVerdict {
    <#
    .SYNOPSIS
        The verdict on one fully qualified Windows path: a UNC path or a mapped network drive is Network;
        then the volume of its drive letter (Get-Volume) must be online (else Offline), fixed (else
        Removable), NTFS or ReFS (else FileSystem) and its partition writable (Get-Partition IsReadOnly,
        else ReadOnly); then the path must exist (else AZB_SOURCE_NOT_FOUND). Volumes mounted in a folder
        are judged by the drive letter of the path.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.SourceVerdict')]
    param([Parameter(Mandatory)][string]$Path)

    function Refuse([string]$Reason, [string]$Message, [string]$Code, [string]$MountPoint, [string]$FileSystem, [string]$Device) {
        New-AzBackupSourceVerdict -Path $Path -Reason $Reason -Code $Code -Message $Message -Hint $script:WindowsSourceHints[$Reason] `
            -MountPoint $MountPoint -FileSystem $FileSystem -Device $Device
    }

    # \\?\C:\… is a local path in its long form; \\?\UNC\server\share\… and \\server\share\… are shares.
    $local = $Path -replace '^[\\/]{2}[?.][\\/]', ''
    if ($local -match '^UNC[\\/]' -or ($local -eq $Path -and $Path -match '^[\\/]{2}[^\\/?.]')) {
        $share = ($Path -replace '^[\\/]{2}[?.][\\/]UNC[\\/]', '\\') -replace '^([\\/]{2}[^\\/]+[\\/][^\\/]+).*$', '$1'
        return Refuse 'Network' "$Path is on the network share $share; AzBackup backs up local disks only."
    }
    if ($local -notmatch '^([A-Za-z]):') {
        return Refuse 'Offline' "$Path is not on a drive letter, so its volume cannot be checked." -Code 'AZB_SOURCE_NOT_FOUND'
    }
    $letter = $Matches[1].ToUpperInvariant()
    $root = "${letter}:\"

    # A mapped network drive has no volume: Win32_LogicalDisk tells it (DriveType 4) and names its share.
    $disk = Get-CimInstance -ClassName Win32_LogicalDisk -Filter "DeviceID='${letter}:'" -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $disk) {
        return Refuse 'Offline' "$Path is on ${letter}:, which is not a drive on this machine." -Code 'AZB_SOURCE_NOT_FOUND'
    }
    if ($disk.DriveType -eq 4) {
        return Refuse 'Network' "$Path is on ${letter}:, a network drive mapped to $($disk.ProviderName); AzBackup backs up local disks only." -MountPoint $root -Device $disk.ProviderName
    }

    $volume = Get-Volume -DriveLetter $letter -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $volume) {
        return Refuse 'Offline' "The volume of ${letter}: cannot be found (Get-Volume): its disk is offline or gone." -MountPoint $root
    }
    $fileSystem = [string]$volume.FileSystemType
    $device = [string]$volume.Path
    if ([string]$volume.OperationalStatus -ne 'OK') {
        return Refuse 'Offline' "$Path is on ${letter}: ($fileSystem), whose volume is $($volume.OperationalStatus), not online." -MountPoint $root -FileSystem $fileSystem -Device $device
    }
    $driveType = [string]$volume.DriveType
    if ($driveType -eq 'Remote') {
        return Refuse 'Network' "$Path is on ${letter}:, a remote volume; AzBackup backs up local disks only." -MountPoint $root -FileSystem $fileSystem -Device $device
    }
    if ($driveType -ne 'Fixed') {
        return Refuse 'Removable' "$Path is on ${letter}: ($fileSystem), a $driveType drive, not a fixed disk." -MountPoint $root -FileSystem $fileSystem -Device $device
    }
    if ($fileSystem -notin $script:WindowsSourceFileSystems) {
        $shown = if ($fileSystem) { $fileSystem } else { 'no known file system' }
        return Refuse 'FileSystem' "$Path is on ${letter}: ($shown); AzBackup backs up NTFS and ReFS volumes only." -MountPoint $root -FileSystem $fileSystem -Device $device
    }
    $partition = Get-Partition -DriveLetter $letter -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($partition -and $partition.IsReadOnly) {
        return Refuse 'ReadOnly' "$Path is on ${letter}: ($fileSystem), whose partition is read-only." -MountPoint $root -FileSystem $fileSystem -Device $device
    }
    if (-not (Test-Path -LiteralPath $Path)) {
        return Refuse 'Offline' "$Path does not exist: the path is wrong, or the volume that held it is not there." -Code 'AZB_SOURCE_NOT_FOUND' -MountPoint $root -FileSystem $fileSystem -Device $device
    }
    New-AzBackupSourceVerdict -Path $Path -Reason 'Eligible' -Message "$Path can be backed up ($fileSystem on ${letter}:, a fixed disk)." `
        -MountPoint $root -FileSystem $fileSystem -Device $device
}

function Get-AzBackupSourceVerdict {
    <#
    .SYNOPSIS
        One AzBackup.SourceVerdict per fully qualified path: judged here on Windows, by the engine
        (source.test, one call for all paths) elsewhere. Engine errors are written through -Caller.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.SourceVerdict')]
    param(
        [Parameter(Mandatory)][string[]]$Path,
        [int]$TimeoutSeconds,
        [System.Management.Automation.PSCmdlet]$Caller
    )
    if (-not $Caller) { $Caller = $PSCmdlet }
    if (Test-AzBackupIsWindows) {
        foreach ($source in $Path) {
            try {
                Get-AzBackupWindowsSourceVerdict -Path $source -ErrorAction Stop
            } catch {
                # A storage or CIM query that fails outright (service stopped, disk gone mid-query) leaves
                # the volume unjudged: the path is refused as offline, with the reason, not a crash.
                New-AzBackupSourceVerdict -Path $source -Reason 'Offline' -Hint $script:WindowsSourceHints['Offline'] `
                    -Message "The volume of $source could not be checked: $($_.Exception.Message)"
            }
        }
        return
    }
    $arguments = @{ paths = @($Path) }
    if ($TimeoutSeconds -gt 0) { $arguments.timeoutSeconds = $TimeoutSeconds }
    Invoke-AzBackupEngine -Command 'source.test' -Arguments $arguments -Caller $Caller -Output Items | ForEach-Object {
        New-AzBackupSourceVerdict -Path $_.Path -Reason $_.Reason -Code $_.Code -Message $_.Message -Hint $_.Hint `
            -MountPoint $_.MountPoint -FileSystem $_.FileSystem -Device $_.Device
    }
}

function Assert-AzBackupSourceEligible {
    <#
    .SYNOPSIS
        Checks every path (Get-AzBackupSourceVerdict) and throws one error record when any is refused:
        the first refusal's AZB_SOURCE_* code and hint, every refusal named in the message. For a
        backup or a policy save on Windows, where the engine does not check. -PassThru returns the
        verdicts when all are eligible.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.SourceVerdict')]
    param(
        [Parameter(Mandatory)][string[]]$Path,
        [int]$TimeoutSeconds,
        [switch]$PassThru
    )
    $engineErrors = $null
    $verdicts = @(Get-AzBackupSourceVerdict -Path $Path -TimeoutSeconds $TimeoutSeconds -ErrorVariable engineErrors -ErrorAction SilentlyContinue)
    if ($engineErrors) { throw $engineErrors[0] }
    $refusals = @($verdicts | Where-Object { -not $_.Eligible })
    if ($refusals.Count -gt 0) {
        $first = $refusals[0]
        $message = if ($refusals.Count -eq 1) { "Source refused: $($first.Message)" } else { "$($refusals.Count) sources refused: $(($refusals | ForEach-Object Message) -join ' ')" }
        $category = switch ($first.Code) { 'AZB_SOURCE_NOT_FOUND' { 'ObjectNotFound' } 'AZB_SOURCE_OFFLINE' { 'ResourceUnavailable' } 'AZB_SOURCE_ACCESS_DENIED' { 'PermissionDenied' } default { 'InvalidOperation' } }
        throw (New-AzBackupErrorRecord -Code $first.Code -Category $category -Message $message -Hint $first.Hint -Target $first.Path)
    }
    if ($PassThru) { $verdicts }
}
