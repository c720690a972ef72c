function Test-AzBackupMember {
    <#
    .SYNOPSIS
        Logs in to a member over SSH, checking its host key, and runs a no-op there.
    .DESCRIPTION
        Connects as backups will (AzBackup's known_hosts only, strict host-key checking, BatchMode) and
        runs exit 0. Success is one AzBackup.MemberTest with Ok = True. A failure is an error whose
        ErrorId is the code: AZB_MEMBER_HOST_KEY_CHANGED (the member offers a key other than the trusted
        one: an attacker in the middle, or a reinstalled member; nothing is run on it),
        AZB_MEMBER_HOST_KEY_UNKNOWN, AZB_MEMBER_AUTH_FAILED (the key is refused, or others can read the
        key file), AZB_MEMBER_UNREACHABLE (refused, no such host, no answer within 15 seconds),
        AZB_MEMBER_NOT_FOUND (no member of that name).
    .PARAMETER Name
        The member, by name or from the pipeline (Get-AzBackupMember, Add-AzBackupMember).
    .PARAMETER Quiet
        Return one Boolean instead: $true when every member given answered. Errors are still written.
    .EXAMPLE
        Test-AzBackupMember -Name db01

        Name Host      Port Ok   Message
        ---- ----      ---- --   -------
        db01 10.0.0.5    22 True Member db01 (backup@10.0.0.5:22) answered over ssh with its trusted host key.
    .EXAMPLE
        Get-AzBackupMember | Test-AzBackupMember -ErrorAction Continue -ErrorVariable failed
        $failed | Select-Object FullyQualifiedErrorId, TargetObject

        Checks every member; the codes of those that failed, and their names.
    .OUTPUTS
        AzBackup.MemberTest, or System.Boolean with -Quiet.
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.MemberTest', [bool])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [switch]$Quiet
    )
    begin { $allOk = $true }
    process {
        $result = Invoke-AzBackupEngine -Command 'member.test' -Arguments @{ name = $Name } -Caller $PSCmdlet -Output Result
        if (-not $result) { $allOk = $false }
        if (-not $Quiet) { $result }
    }
    end { if ($Quiet) { $allOk } }
}
