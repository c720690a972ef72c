function Get-AzBackupMember {
    <#
    .SYNOPSIS
        Lists the members this protection server reaches over SSH.
    .DESCRIPTION
        Returns one AzBackup.Member per member in the AzBackup home: its name, host, port, account,
        identity file path, the fingerprints of the host keys trusted for it and how they came to be
        trusted (Fingerprint: given by an admin; FirstUse: accepted unchecked with -AcceptNewHostKey).
        Nothing is contacted: Test-AzBackupMember does that.
    .PARAMETER Name
        Only the members with these names; wildcards are allowed. A name without wildcards that matches
        no member is the error AZB_MEMBER_NOT_FOUND.
    .EXAMPLE
        Get-AzBackupMember

        Every member, with Name, Host, Port, User, Trust and the first host key fingerprint.
    .EXAMPLE
        Get-AzBackupMember -Name db* | Test-AzBackupMember

        Logs in to every member whose name starts with db.
    .EXAMPLE
        Get-AzBackupMember | Where-Object HostKeyTrust -EQ FirstUse

        Members whose host key nobody has checked yet.
    .OUTPUTS
        AzBackup.Member
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Member')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [SupportsWildcards()]
        [string[]]$Name
    )
    begin { $names = [System.Collections.Generic.List[string]]::new() }
    process { foreach ($n in $Name) { $names.Add($n) } }
    end {
        $members = @(Invoke-AzBackupEngine -Command 'member.list' -Caller $PSCmdlet -Output Items)
        if ($names.Count -eq 0) { return $members }
        foreach ($pattern in $names) {
            $matched = @($members | Where-Object { $_.Name -like $pattern })
            if ($matched.Count -eq 0 -and -not [WildcardPattern]::ContainsWildcardCharacters($pattern)) {
                $known = if ($members.Count -gt 0) { " Members: $(($members.Name) -join ', ')." } else { ' No member has been added.' }
                $PSCmdlet.WriteError((New-AzBackupErrorRecord -Code 'AZB_MEMBER_NOT_FOUND' -Category 'ObjectNotFound' -Target $pattern `
                    -Message "There is no member named '$pattern'.$known" -Hint 'Add it with Add-AzBackupMember.'))
            }
            $matched
        }
    }
}
