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
            $properties[$property.Name.Substring(0, 1).ToUpperInvariant() + $property.Name.Substring(1)] = $value
        }
    }
    Add-AzBackupDisplayProperty -Kind $Kind -Properties $properties
    [pscustomobject]$properties
}
