function Remove-AzBackupFileSpec {
    <#
    .SYNOPSIS
        Removes file specs from a policy object and passes the policy on.
    .DESCRIPTION
        Changes the policy object only; Set-AzBackupPolicy saves it. Points already made keep what
        they hold.
    .PARAMETER Policy
        The policy (New-AzBackupPolicy or Get-AzBackupPolicy), from the pipeline.
    .PARAMETER FileSpec
        Specs (New-AzBackupFileSpec objects, or paths) to remove.
    .EXAMPLE
        Get-AzBackupPolicy files | Remove-AzBackupFileSpec -FileSpec /home | Set-AzBackupPolicy

        /home is no longer backed up by the policy files.

    .EXAMPLE
        $policy.FileSpecs | Where-Object FileSpec -like '/mnt/*' | ForEach-Object { $policy = $policy | Remove-AzBackupFileSpec -FileSpec $_ }

        Removes every spec below /mnt from a policy object.
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
        $paths = @(foreach ($s in $FileSpec) { if ($s.PSObject.TypeNames -contains 'AzBackup.FileSpec') { $s.FileSpec } else { $PSCmdlet.GetUnresolvedProviderPathFromPSPath([string]$s) } })
        $absent = @($paths | Where-Object { $_ -notin @($Policy.FileSpecs.FileSpec) })
        foreach ($p in $absent) { Write-Warning "Policy $($Policy.Name) has no file spec $p." }
        $Policy.FileSpecs = [object[]]@($Policy.FileSpecs | Where-Object { $null -ne $_ -and $_.FileSpec -notin $paths })
        $Policy
    }
}
