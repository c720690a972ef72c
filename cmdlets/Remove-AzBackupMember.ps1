function Remove-AzBackupMember {
    <#
    .SYNOPSIS
        Removes a member and, unless another member shares its host and port, its trusted host keys.
    .DESCRIPTION
        Deletes the member's file from the AzBackup home. Its host keys leave AzBackup's known_hosts too,
        except when another member uses the same host and port (RemovedMember.KnownHostKeysRemoved says
        how many went). Nothing on the member changes, and no recovery point is touched. This is also
        how a changed host key is accepted: remove the member, then add it again with the new
        fingerprint. AZB_MEMBER_NOT_FOUND when there is no member of that name.
    .PARAMETER Name
        The member, by name or from the pipeline (Get-AzBackupMember).
    .EXAMPLE
        Remove-AzBackupMember -Name db01

        Asks for confirmation, then forgets db01 and its host keys.
    .EXAMPLE
        Get-AzBackupMember old-* | Remove-AzBackupMember -Confirm:$false

        Removes every member whose name starts with old- without asking.
    .OUTPUTS
        AzBackup.RemovedMember
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.RemovedMember')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Name
    )
    process {
        if ($PSCmdlet.ShouldProcess("member $Name", 'Remove the member and the host keys trusted for it (no recovery point is touched)')) {
            Invoke-AzBackupEngine -Command 'member.remove' -Arguments @{ name = $Name } -Caller $PSCmdlet -Output Result
        }
    }
}
