function ConvertTo-AzBackupObject {
    <#
    .SYNOPSIS
        Turns the data of an engine item/result event into a typed object: PascalCase property
        names and the PSTypeName AzBackup.<Kind>, so formats, types and pipeline binding apply.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][string]$Kind,
        [Parameter(Mandatory)][AllowNull()][object]$Data
    )
    $properties = [ordered]@{ PSTypeName = "AzBackup.$Kind" }
    if ($null -ne $Data) {
        foreach ($property in $Data.PSObject.Properties) {
            $value = $property.Value
            # A job's statistics are an object of their own: PascalCase too ($job.Stats.FilesNew).
            if ($Kind -eq 'Job' -and $property.Name -eq 'stats' -and $value -is [System.Management.Automation.PSCustomObject]) {
                $stats = [ordered]@{}
                foreach ($s in $value.PSObject.Properties) { $stats[$s.Name.Substring(0, 1).ToUpperInvariant() + $s.Name.Substring(1)] = $s.Value }
                $value = [pscustomobject]$stats
            }
            # Protection groups nest their data sources, objectives and reports: PascalCase all the way
            # down, and each data source (and a run's online copy) a typed object of its own.
            if ($Kind -in 'ProtectionGroup', 'DataSource', 'ProtectionGroupRun', 'OnlineCopy') {
                if ($Kind -eq 'ProtectionGroup' -and $property.Name -eq 'dataSources') {
                    $value = @($value | ForEach-Object { ConvertTo-AzBackupObject -Kind DataSource -Data $_ })
                } elseif ($Kind -eq 'ProtectionGroupRun' -and $property.Name -eq 'online' -and $null -ne $value) {
                    $value = ConvertTo-AzBackupObject -Kind OnlineCopy -Data $value
                } else {
                    $value = ConvertTo-AzBackupPascalCase $value
                }
            }
            $properties[$property.Name.Substring(0, 1).ToUpperInvariant() + $property.Name.Substring(1)] = $value
        }
    }
    Add-AzBackupDisplayProperty -Kind $Kind -Properties $properties
    [pscustomobject]$properties
}

function ConvertTo-AzBackupPascalCase {
    <# A copy of nested JSON objects (and arrays of them) with PascalCase property names; other values as they are. #>
    param([AllowNull()][object]$Value)
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $copy = [ordered]@{}
        foreach ($p in $Value.PSObject.Properties) { $copy[$p.Name.Substring(0, 1).ToUpperInvariant() + $p.Name.Substring(1)] = ConvertTo-AzBackupPascalCase $p.Value }
        return [pscustomobject]$copy
    }
    if ($Value -is [array]) { return , @($Value | ForEach-Object { ConvertTo-AzBackupPascalCase $_ }) }
    $Value
}
