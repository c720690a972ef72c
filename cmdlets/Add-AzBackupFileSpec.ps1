function Add-AzBackupFileSpec {
    <#
    .SYNOPSIS
        Adds file specs to a policy object and passes the policy on.
    .DESCRIPTION
        Changes the policy object only; Set-AzBackupPolicy saves it. A spec whose path is already in
        the policy replaces the one there.
    .PARAMETER Policy
        The policy (New-AzBackupPolicy or Get-AzBackupPolicy), from the pipeline or by name.
    .PARAMETER FileSpec
        Specs made by New-AzBackupFileSpec.
    .EXAMPLE
        Get-AzBackupPolicy files | Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec /home) | Set-AzBackupPolicy

        Adds /home to the saved policy files.

    .EXAMPLE
        $policy = New-AzBackupPolicy -Name files
        Add-AzBackupFileSpec -Policy $policy -FileSpec /srv/data, /etc | Out-Null

        Adds two paths (plain paths are made into file specs) to a new policy object.
    .OUTPUTS
        AzBackup.Policy
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Policy')]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [object]$Policy,

        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [object[]]$FileSpec
    )
    process {
        Assert-AzBackupPolicyObject -Caller $PSCmdlet -Policy $Policy
        $specs = [System.Collections.Generic.List[object]]::new()
        foreach ($s in @($Policy.FileSpecs)) { if ($null -ne $s) { $specs.Add($s) } }
        foreach ($s in $FileSpec) {
            if (-not ($s.PSObject.TypeNames -contains 'AzBackup.FileSpec')) { $s = New-AzBackupFileSpec -FileSpec ([string]$s) }
            $existing = $specs | Where-Object { $_.FileSpec -eq $s.FileSpec }
            foreach ($e in @($existing)) { if ($null -ne $e) { $null = $specs.Remove($e) } }
            $specs.Add($s)
        }
        $Policy.FileSpecs = [object[]]$specs.ToArray()
        $Policy
    }
}
