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
            $name = $property.Name.Substring(0, 1).ToUpperInvariant() + $property.Name.Substring(1)
            $properties[$name] = $property.Value
        }
    }
    [pscustomobject]$properties
}
