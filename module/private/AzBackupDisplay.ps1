# Text forms that the default views show beside the raw numbers, which stay as they are for scripts:
# sizes in KiB/MiB/GiB, a file's mode as ls shows it.

function Format-AzBackupBytes([long]$Bytes) {
    $units = 'B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'
    $value = [double]$Bytes
    $unit = 0
    while ([math]::Abs($value) -ge 1024 -and $unit -lt $units.Count - 1) { $value /= 1024; $unit++ }
    if ($unit -eq 0) { return "$Bytes B" }
    '{0:0.0} {1}' -f $value, $units[$unit]
}

function Format-AzBackupMode([string]$Type, [int]$Mode) {
    $kind = switch ($Type) { 'dir' { 'd' } 'symlink' { 'l' } default { '-' } }
    $text = [System.Text.StringBuilder]::new($kind)
    foreach ($shift in 6, 3, 0) {
        $bits = ($Mode -shr $shift) -band 7
        $special = switch ($shift) { 6 { ($Mode -band 0x800) -ne 0 } 3 { ($Mode -band 0x400) -ne 0 } 0 { ($Mode -band 0x200) -ne 0 } }
        $exec = if ($shift -eq 0) { if ($special) { if ($bits -band 1) { 't' } else { 'T' } } elseif ($bits -band 1) { 'x' } else { '-' } }
        elseif ($special) { if ($bits -band 1) { 's' } else { 'S' } } elseif ($bits -band 1) { 'x' } else { '-' }
        $null = $text.Append($(if ($bits -band 4) { 'r' } else { '-' })).Append($(if ($bits -band 2) { 'w' } else { '-' })).Append($exec)
    }
    $text.ToString()
}

function Add-AzBackupDisplayProperty {
    <# Adds the text forms the kind's default view shows (SizeText, ModeText, BytesAddedText, LostBytesText, BytesLostText, StoredText). #>
    param([Parameter(Mandatory)][string]$Kind, [Parameter(Mandatory)][System.Collections.IDictionary]$Properties)
    switch ($Kind) {
        'RecoverableItem' {
            if ($null -ne $Properties['Size']) { $Properties['SizeText'] = Format-AzBackupBytes $Properties['Size'] }
            if ($null -ne $Properties['Mode']) { $Properties['ModeText'] = Format-AzBackupMode $Properties['Type'] $Properties['Mode'] }
        }
        'FleetServer' {
            if ($null -ne $Properties['StoredBytes']) { $Properties['StoredText'] = Format-AzBackupBytes $Properties['StoredBytes'] }
        }
        'RecoveryPoint' {
            if ($null -ne $Properties['BytesAdded']) { $Properties['BytesAddedText'] = Format-AzBackupBytes $Properties['BytesAdded'] }
        }
        'RepairedFile' {
            if ($null -ne $Properties['LostBytes']) { $Properties['LostBytesText'] = Format-AzBackupBytes $Properties['LostBytes'] }
            if ($null -ne $Properties['Size']) { $Properties['SizeText'] = Format-AzBackupBytes $Properties['Size'] }
        }
        'DataSource' {
            # One line each for the report: newest point and count, size against the online limit, last error.
            $time = { param($t) if ($t -is [datetime]) { $t.ToLocalTime().ToString('yyyy-MM-dd HH:mm') } else { "$t" } }
            $disk = $Properties['DiskPoint']
            $Properties['DiskText'] = if ($disk) { '{0} ({1}{2} points)' -f (& $time $disk.Time), $Properties['DiskPoints'], $(if ($Properties['MaxDiskPoints']) { " of $($Properties['MaxDiskPoints'])" }) } else { 'none' }
            $online = $Properties['OnlinePoint']
            $Properties['OnlineText'] = if ($online) { '{0} ({1} points)' -f (& $time $online.Time), $Properties['OnlinePoints'] } else { 'none' }
            $size = if ($null -ne $Properties['SizeBytes']) { Format-AzBackupBytes $Properties['SizeBytes'] } else { '-' }
            $Properties['SizeText'] = if ($Properties['SizeLimitBytes']) { "$size of $(Format-AzBackupBytes $Properties['SizeLimitBytes'])$(if ($Properties['OverSizeLimit']) { ' (over the limit)' })" } else { $size }
            $lastError = $Properties['LastError']
            $Properties['LastErrorText'] = if ($lastError) { '{0} {1}: {2}' -f (& $time $lastError.Time), $lastError.Code, $lastError.Message } else { '' }
        }
        'RepairResult' {
            $Properties['BytesLostText'] = Format-AzBackupBytes $Properties['BytesLost']
        }
    }
}
