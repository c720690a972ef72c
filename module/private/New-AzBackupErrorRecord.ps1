function New-AzBackupErrorRecord {
    <#
    .SYNOPSIS
        Builds the ErrorRecord for an AzBackup error: ErrorId = the stable AZB_ code, category mapped
        from the engine's category name, the hint as RecommendedAction.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory)][string]$Code,
        [Parameter(Mandatory)][string]$Message,
        [string]$Category = 'NotSpecified',
        [string]$Hint,
        [object]$Target
    )
    $parsed = [System.Management.Automation.ErrorCategory]::NotSpecified
    if (-not [enum]::TryParse([System.Management.Automation.ErrorCategory], $Category, $true, [ref]$parsed)) {
        $parsed = [System.Management.Automation.ErrorCategory]::NotSpecified
    }
    $exception = [System.Exception]::new($Message)
    $exception.Data['AzBackupCode'] = $Code
    if ($Hint) { $exception.Data['AzBackupHint'] = $Hint }
    $record = [System.Management.Automation.ErrorRecord]::new($exception, $Code, $parsed, $Target)
    if ($Hint) {
        $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($Message)
        $record.ErrorDetails.RecommendedAction = $Hint
    }
    $record
}
