# VSS shadow copies for Start-AzBackup -Snapshot on Windows (README "Snapshot-consistent reads"): one
# client-accessible shadow copy per volume through CIM (Win32_ShadowCopy), read by the engine through
# -read-from, removed in a finally. No VSS writers: plain files only, as the model agent. Not yet run on
# Windows; the Pester tests mock the CIM cmdlets.

function Test-AzBackupVssPlatform {
    <#
    .SYNOPSIS
        Whether this session makes VSS shadow copies: on Windows only (a function, so tests can mock it).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param()
    [bool]$IsWindows
}

function New-AzBackupShadowCopy {
    <#
    .SYNOPSIS
        Makes one shadow copy per volume of the given sources. Returns the copies made (Volume, Id,
        DeviceObject) and, per source, the path to read it from. Throws on the first failure, after
        removing the copies already made.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)][string[]]$Path)
    $copies = [System.Collections.Generic.List[object]]::new()
    $readFrom = [System.Collections.Generic.List[object]]::new()
    try {
        foreach ($source in $Path) {
            $volume = [System.IO.Path]::GetPathRoot($source)
            $copy = $copies | Where-Object Volume -EQ $volume | Select-Object -First 1
            if (-not $copy) {
                $made = Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = $volume; Context = 'ClientAccessible' } -ErrorAction Stop
                if ($made.ReturnValue -ne 0) { throw "Win32_ShadowCopy.Create for $volume returned $($made.ReturnValue)" }
                $instance = Get-CimInstance -ClassName Win32_ShadowCopy -Filter "ID='$($made.ShadowID)'" -ErrorAction Stop
                if (-not $instance.DeviceObject) { throw "the shadow copy $($made.ShadowID) of $volume has no device path" }
                $copy = [pscustomobject]@{ Volume = $volume; Id = $made.ShadowID; DeviceObject = $instance.DeviceObject }
                $copies.Add($copy)
            }
            # \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN + the source's path below its volume.
            $below = $source.Substring($volume.Length)
            $readFrom.Add(@{ source = $source; path = $copy.DeviceObject.TrimEnd('\', '/') + [System.IO.Path]::DirectorySeparatorChar + $below; method = 'vss' })
        }
    } catch {
        Remove-AzBackupShadowCopy -ShadowCopy $copies
        throw
    }
    [pscustomobject]@{ Copies = $copies.ToArray(); ReadFrom = $readFrom.ToArray() }
}

function Remove-AzBackupShadowCopy {
    <#
    .SYNOPSIS
        Deletes shadow copies made by New-AzBackupShadowCopy; a failure is a warning naming the copy.
    #>
    [CmdletBinding()]
    param([AllowEmptyCollection()][object[]]$ShadowCopy)
    foreach ($copy in $ShadowCopy) {
        try {
            Get-CimInstance -ClassName Win32_ShadowCopy -Filter "ID='$($copy.Id)'" -ErrorAction Stop | Remove-CimInstance -ErrorAction Stop
        } catch {
            Write-Warning "AZB_SNAPSHOT_REMOVE_FAILED: the shadow copy $($copy.Id) of $($copy.Volume) could not be removed: $($_.Exception.Message). Remove it with 'vssadmin delete shadows /shadow=$($copy.Id)'."
        }
    }
}
