# Add-, Get-, Remove- and Test-AzBackupMember against the real engine, a real sshd on 127.0.0.1 as the
# member (Start-TestSshd) and the system OpenSSH client: host keys trusted only against a fingerprint or
# on first use (said), a changed host key refused until the member is added again, the coded failures,
# -WhatIf and confirmation, and the pipeline between the four.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:sshd = Start-TestSshd -Directory (Join-Path $root 'sshd')
    $script:memberHome = New-TestHome -Root $root
    # A second key that the member does not accept.
    $script:strangerKey = Join-Path $root 'stranger_ed25519'
    $null = ssh-keygen -q -t ed25519 -N '' -f $strangerKey 2>&1

    # Advanced, so that -ErrorVariable and -WarningVariable given to it collect what the cmdlet writes.
    function script:Add-TestMember {
        [CmdletBinding()]
        param([string]$Name, [hashtable]$Extra = @{})
        # Preferences do not reach into a module's functions (pester/run.ps1 sets Stop): pass the actions on.
        $actions = @{}
        foreach ($p in 'ErrorAction', 'WarningAction') { if ($PSBoundParameters.ContainsKey($p)) { $actions[$p] = $PSBoundParameters[$p] } }
        Add-AzBackupMember -Name $Name -ComputerName 127.0.0.1 -Port $sshd.Port -UserName root -IdentityFile $sshd.ClientKey @Extra @actions
    }
    function script:Get-MemberFile([string]$Name) { Join-Path $memberHome "members/$Name.json" }
}
AfterAll {
    Stop-TestSshd $script:sshd
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Add-AzBackupMember' {
    BeforeEach { $env:AZBACKUP_HOME = $memberHome }
    AfterEach { Get-AzBackupMember | Remove-AzBackupMember -Confirm:$false }

    It 'adds a member whose host key matches the fingerprint given, as a typed AzBackup.Member' {
        $member = Add-TestMember db01 @{ HostKeyFingerprint = $sshd.Fingerprint }
        $member.PSObject.TypeNames[0] | Should -Be 'AzBackup.Member'
        $member.Name | Should -Be 'db01'
        $member.Host | Should -Be '127.0.0.1'
        $member.Port | Should -Be $sshd.Port
        $member.User | Should -Be 'root'
        $member.IdentityFile | Should -Be $sshd.ClientKey
        $member.HostKeyFingerprints | Should -Be @($sshd.Fingerprint)
        $member.HostKeyTrust | Should -Be 'Fingerprint'
        $member.Added | Should -BeOfType [datetime]
        Test-Path -LiteralPath (Get-MemberFile db01) | Should -BeTrue
        # The table view shows the endpoint and the key.
        ($member | Out-String -Width 80) | Should -Match "db01\s+root@127\.0\.0\.1:$($sshd.Port)\s+Fingerprint\s+SHA256:"
    }

    It 'refuses a member whose host key is not known (no fingerprint given): AZB_MEMBER_HOST_KEY_UNKNOWN names the key offered, nothing is added' {
        $err = $null
        $out = Add-TestMember db02 -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'AZB_MEMBER_HOST_KEY_UNKNOWN,Add-AzBackupMember'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $err[0].Exception.Message | Should -BeLike "*$($sshd.Fingerprint)*"
        $err[0].ErrorDetails.RecommendedAction | Should -BeLike '*ssh-keygen -lf*'
        Test-Path -LiteralPath (Get-MemberFile db02) | Should -BeFalse
        Get-AzBackupMember | Should -BeNullOrEmpty
    }

    It 'refuses a fingerprint the member does not offer (AZB_MEMBER_HOST_KEY_UNKNOWN), and one that is not a fingerprint (AZB_ARGS_INVALID)' {
        $other = [regex]::Match((ssh-keygen -lf "$strangerKey.pub"), 'SHA256:[A-Za-z0-9+/]{43}').Value
        { Add-AzBackupMember -Name db03 -ComputerName 127.0.0.1 -Port $sshd.Port -UserName root -IdentityFile $sshd.ClientKey -HostKeyFingerprint $other -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_MEMBER_HOST_KEY_UNKNOWN,Add-AzBackupMember'
        { Add-AzBackupMember -Name db03 -ComputerName 127.0.0.1 -Port $sshd.Port -UserName root -IdentityFile $sshd.ClientKey -HostKeyFingerprint 'MD5:12:34' -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ARGS_INVALID,Add-AzBackupMember'
        Get-AzBackupMember | Should -BeNullOrEmpty
    }

    It 'trusts the offered key on first use with -AcceptNewHostKey, and says so in a warning' {
        $warnings = $null
        $member = Add-TestMember web01 @{ AcceptNewHostKey = $true } -WarningVariable warnings -WarningAction SilentlyContinue
        $member.HostKeyTrust | Should -Be 'FirstUse'
        $member.HostKeyFingerprints | Should -Be @($sshd.Fingerprint)
        ($warnings -join "`n") | Should -BeLike '*trusted on first use*'
        (Test-AzBackupMember -Name web01).Ok | Should -BeTrue
    }

    It 'takes -HostKeyFingerprint or -AcceptNewHostKey, not both' {
        { Add-AzBackupMember -Name x -ComputerName 127.0.0.1 -IdentityFile $sshd.ClientKey -HostKeyFingerprint $sshd.Fingerprint -AcceptNewHostKey -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Add-AzBackupMember'
    }

    It 'refuses bad input with a code, adding nothing: <What>' -ForEach @(
        @{ What = 'a name with spaces'; Name = 'db 01'; Extra = @{}; Code = 'AZB_ARGS_INVALID' }
        @{ What = 'a host that is an option'; Name = 'db04'; Extra = @{ ComputerName = '-oProxyCommand=x' }; Code = 'AZB_ARGS_INVALID' }
        @{ What = 'a user with a shell character'; Name = 'db04'; Extra = @{ UserName = 'root;id' }; Code = 'AZB_ARGS_INVALID' }
        @{ What = 'a missing identity file'; Name = 'db04'; Extra = @{ IdentityFile = '/nonexistent/key' }; Code = 'AZB_FILE_NOT_FOUND' }
        @{ What = 'an identity file that is a folder'; Name = 'db04'; Extra = @{ IdentityFile = '/tmp' }; Code = 'AZB_ARGS_INVALID' }
        @{ What = 'a port nobody listens on'; Name = 'db04'; Extra = @{ Port = 1 }; Code = 'AZB_MEMBER_UNREACHABLE' }
    ) {
        $splat = @{ Name = $Name; ComputerName = '127.0.0.1'; Port = $sshd.Port; UserName = 'root'; IdentityFile = $sshd.ClientKey; HostKeyFingerprint = $sshd.Fingerprint }
        foreach ($k in $Extra.Keys) { $splat[$k] = $Extra[$k] }
        { Add-AzBackupMember @splat -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Add-AzBackupMember"
        Get-AzBackupMember | Should -BeNullOrEmpty
    }

    It 'refuses port 0 before the engine runs' {
        { Add-AzBackupMember -Name db05 -ComputerName 127.0.0.1 -Port 0 -IdentityFile $sshd.ClientKey -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Add-AzBackupMember'
    }

    It 'refuses a second member of the same name (AZB_MEMBER_EXISTS) and keeps the first' {
        $null = Add-TestMember db06 @{ HostKeyFingerprint = $sshd.Fingerprint }
        { Add-AzBackupMember -Name db06 -ComputerName localhost -Port $sshd.Port -IdentityFile $strangerKey -HostKeyFingerprint $sshd.Fingerprint -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_MEMBER_EXISTS,Add-AzBackupMember'
        (Get-AzBackupMember db06).Host | Should -Be '127.0.0.1'
        (Get-AzBackupMember db06).IdentityFile | Should -Be $sshd.ClientKey
    }

    It 'resolves a relative identity file against the PowerShell location, not the engine''s working folder' {
        Push-Location -LiteralPath (Split-Path $sshd.ClientKey)
        try {
            $member = Add-AzBackupMember -Name rel01 -ComputerName 127.0.0.1 -Port $sshd.Port -UserName root -IdentityFile ./client_ed25519 -HostKeyFingerprint $sshd.Fingerprint
        } finally { Pop-Location }
        $member.IdentityFile | Should -Be $sshd.ClientKey
        (Test-AzBackupMember rel01).Ok | Should -BeTrue
    }

    It 'adds nothing with -WhatIf, and says what it would do' {
        $result = Add-TestMember what01 @{ HostKeyFingerprint = $sshd.Fingerprint; WhatIf = $true }
        $result | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Get-MemberFile what01) | Should -BeFalse
        $said = (Invoke-TestChildPwsh "Add-AzBackupMember -Name what01 -ComputerName 127.0.0.1 -Port $($sshd.Port) -IdentityFile '$($sshd.ClientKey)' -HostKeyFingerprint '$($sshd.Fingerprint)' -WhatIf") -replace '\s+', ' '
        $said | Should -BeLike "*What if: Performing the operation `"Add member at 127.0.0.1:$($sshd.Port), trusting host key $($sshd.Fingerprint)`" on target `"member what01`"*"
        Test-Path -LiteralPath (Get-MemberFile what01) | Should -BeFalse
    }
}

Describe 'Get-AzBackupMember' {
    BeforeAll {
        $env:AZBACKUP_HOME = $memberHome
        $null = Add-TestMember db01 @{ HostKeyFingerprint = $sshd.Fingerprint }
        $null = Add-TestMember db02 @{ HostKeyFingerprint = $sshd.Fingerprint }
        $null = Add-TestMember web01 @{ HostKeyFingerprint = $sshd.Fingerprint }
    }
    AfterAll { $env:AZBACKUP_HOME = $memberHome; Get-AzBackupMember | Remove-AzBackupMember -Confirm:$false }
    BeforeEach { $env:AZBACKUP_HOME = $memberHome }

    It 'lists every member by name, typed' {
        $all = @(Get-AzBackupMember)
        $all.Name | Should -Be @('db01', 'db02', 'web01')
        $all | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.Member' }
    }

    It 'filters by name with wildcards, and from the pipeline' {
        (Get-AzBackupMember -Name db*).Name | Should -Be @('db01', 'db02')
        ('web01', 'db02' | Get-AzBackupMember).Name | Should -Be @('web01', 'db02')
        Get-AzBackupMember -Name 'zz*' | Should -BeNullOrEmpty
    }

    It 'writes AZB_MEMBER_NOT_FOUND, naming the members there are, for a name that matches none' {
        $err = $null
        $out = Get-AzBackupMember -Name db01, nope -ErrorVariable err -ErrorAction SilentlyContinue
        $out.Name | Should -Be 'db01'
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'AZB_MEMBER_NOT_FOUND,Get-AzBackupMember'
        $err[0].Exception.Message | Should -BeLike "*'nope'*db01, db02, web01*"
    }

    It 'lists nothing, without error, in a home without members' {
        $null = New-TestHome -Root $root
        $err = $null
        Get-AzBackupMember -ErrorVariable err | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }
}

Describe 'Test-AzBackupMember' {
    BeforeEach { $env:AZBACKUP_HOME = $memberHome }
    AfterEach { Get-AzBackupMember | Remove-AzBackupMember -Confirm:$false }

    It 'logs in to each member from the pipeline and returns a typed result' {
        $null = Add-TestMember db01 @{ HostKeyFingerprint = $sshd.Fingerprint }
        $null = Add-TestMember db02 @{ HostKeyFingerprint = $sshd.Fingerprint }
        $results = @(Get-AzBackupMember | Test-AzBackupMember)
        $results.Count | Should -Be 2
        $results.Name | Should -Be @('db01', 'db02')
        $results | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.MemberTest'; $_.Ok | Should -BeTrue }
        $results[0].Message | Should -BeLike "*root@127.0.0.1:$($sshd.Port)*trusted host key*"
        Get-AzBackupMember | Test-AzBackupMember -Quiet | Should -BeTrue
    }

    It 'refuses a member whose key is not accepted (AZB_MEMBER_AUTH_FAILED) and one that is not there (AZB_MEMBER_NOT_FOUND); -Quiet is then $false' {
        $null = Add-AzBackupMember -Name locked -ComputerName 127.0.0.1 -Port $sshd.Port -UserName root -IdentityFile $strangerKey -HostKeyFingerprint $sshd.Fingerprint
        { Test-AzBackupMember -Name locked -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_MEMBER_AUTH_FAILED,Test-AzBackupMember'
        { Test-AzBackupMember -Name ghost -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_MEMBER_NOT_FOUND,Test-AzBackupMember'
        Test-AzBackupMember -Name locked -Quiet -ErrorAction SilentlyContinue | Should -BeFalse
    }

    It 'refuses a member whose sshd is down: AZB_MEMBER_UNREACHABLE' {
        $down = Start-TestSshd -Directory (Join-Path $root 'sshd-down')
        $null = Add-AzBackupMember -Name down01 -ComputerName 127.0.0.1 -Port $down.Port -UserName root -IdentityFile $down.ClientKey -HostKeyFingerprint $down.Fingerprint
        Stop-TestSshd $down
        { Test-AzBackupMember -Name down01 -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_MEMBER_UNREACHABLE,Test-AzBackupMember'
    }
}

Describe 'A member whose host key changed' {
    # Its own sshd, restarted on the same port with a new host key: a reinstalled member, or an attacker.
    BeforeAll {
        $env:AZBACKUP_HOME = $memberHome
        $script:moved = Start-TestSshd -Directory (Join-Path $root 'sshd-rekey')
        $script:oldFingerprint = $moved.Fingerprint
        $null = Add-AzBackupMember -Name rekey01 -ComputerName 127.0.0.1 -Port $moved.Port -UserName root -IdentityFile $moved.ClientKey -HostKeyFingerprint $oldFingerprint
        (Test-AzBackupMember rekey01).Ok | Should -BeTrue
        Stop-TestSshd $moved
        $script:moved = Start-TestSshd -Directory (Join-Path $root 'sshd-rekey') -Port $moved.Port -NewHostKey
    }
    AfterAll { Stop-TestSshd $script:moved; $env:AZBACKUP_HOME = $memberHome; Get-AzBackupMember | Remove-AzBackupMember -Confirm:$false }
    BeforeEach { $env:AZBACKUP_HOME = $memberHome }

    It 'is refused at every connection with AZB_MEMBER_HOST_KEY_CHANGED, naming the new and the trusted key' {
        $moved.Fingerprint | Should -Not -Be $oldFingerprint
        $err = $null
        Test-AzBackupMember -Name rekey01 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'AZB_MEMBER_HOST_KEY_CHANGED,Test-AzBackupMember'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $err[0].TargetObject | Should -Be 'rekey01'
        $err[0].Exception.Message | Should -BeLike "*$oldFingerprint*"
        # The stored trust is unchanged: the new key was not taken by itself.
        (Get-AzBackupMember rekey01).HostKeyFingerprints | Should -Be @($oldFingerprint)
    }

    It 'is refused for a new member on the same host and port too, even with its new fingerprint' {
        { Add-AzBackupMember -Name rekey02 -ComputerName 127.0.0.1 -Port $moved.Port -UserName root -IdentityFile $moved.ClientKey -HostKeyFingerprint $moved.Fingerprint -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_MEMBER_HOST_KEY_CHANGED,Add-AzBackupMember'
        Get-AzBackupMember -Name rekey02 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'is accepted again once removed and added with the new fingerprint' {
        $removed = Remove-AzBackupMember -Name rekey01 -Confirm:$false
        $removed.KnownHostKeysRemoved | Should -BeGreaterThan 0
        $null = Add-AzBackupMember -Name rekey01 -ComputerName 127.0.0.1 -Port $moved.Port -UserName root -IdentityFile $moved.ClientKey -HostKeyFingerprint $moved.Fingerprint
        (Test-AzBackupMember rekey01).Ok | Should -BeTrue
    }
}

Describe 'Remove-AzBackupMember' {
    BeforeEach {
        $env:AZBACKUP_HOME = $memberHome
        $null = Add-TestMember rm01 @{ HostKeyFingerprint = $sshd.Fingerprint }
        $null = Add-TestMember rm02 @{ HostKeyFingerprint = $sshd.Fingerprint }
    }
    AfterEach { Get-AzBackupMember | Remove-AzBackupMember -Confirm:$false }

    It 'removes a member, keeping the host keys another member on the same host and port still needs' {
        $removed = Remove-AzBackupMember -Name rm01 -Confirm:$false
        $removed.PSObject.TypeNames[0] | Should -Be 'AzBackup.RemovedMember'
        $removed.Name | Should -Be 'rm01'
        $removed.KnownHostKeysRemoved | Should -Be 0
        Test-Path -LiteralPath (Get-MemberFile rm01) | Should -BeFalse
        (Test-AzBackupMember rm02).Ok | Should -BeTrue
        (Remove-AzBackupMember -Name rm02 -Confirm:$false).KnownHostKeysRemoved | Should -Be 1
        Get-Content -Raw -LiteralPath (Join-Path $memberHome 'members/known_hosts') | Should -Not -Match "127\.0\.0\.1\]:$($sshd.Port)"
    }

    It 'removes the members piped from Get-AzBackupMember' {
        $removed = @(Get-AzBackupMember -Name rm* | Remove-AzBackupMember -Confirm:$false)
        $removed.Name | Should -Be @('rm01', 'rm02')
        Get-AzBackupMember | Should -BeNullOrEmpty
    }

    It 'removes nothing with -WhatIf, and says what it would do' {
        Remove-AzBackupMember -Name rm01 -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Get-MemberFile rm01) | Should -BeTrue
        $said = (Invoke-TestChildPwsh 'Remove-AzBackupMember -Name rm01 -WhatIf') -replace '\s+', ' '
        $said | Should -BeLike '*What if: Performing the operation "Remove the member and the host keys trusted for it*" on target "member rm01"*'
        Test-Path -LiteralPath (Get-MemberFile rm01) | Should -BeTrue
    }

    It 'asks first (ConfirmImpact High) and keeps the member when the answer is no' {
        $no = (Invoke-TestChildPwsh 'Remove-AzBackupMember -Name rm01' -Answer 'N') -replace '\s+', ' '
        $no | Should -BeLike '*Are you sure you want to perform this action?*member rm01*'
        Test-Path -LiteralPath (Get-MemberFile rm01) | Should -BeTrue
        $yes = Invoke-TestChildPwsh 'Remove-AzBackupMember -Name rm01' -Answer 'Y'
        $yes | Should -BeLike '*rm01*'
        Test-Path -LiteralPath (Get-MemberFile rm01) | Should -BeFalse
    }

    It 'writes AZB_MEMBER_NOT_FOUND for a member that is not there' {
        { Remove-AzBackupMember -Name ghost -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_MEMBER_NOT_FOUND,Remove-AzBackupMember'
    }
}
