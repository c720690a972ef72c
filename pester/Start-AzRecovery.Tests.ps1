BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'restore-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $null = New-Item -ItemType SymbolicLink -Path (Join-Path $data 'link-to-a') -Target 'a.txt'
    $script:point = Start-AzBackup -Path $data -Passphrase $pp
    $script:original = Get-TestTreeHash -Path $data

    function script:New-Target { Join-Path $root ('restore-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-AzRecovery' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'restores what Get-AzRecoveryPoint | Get-AzRecoverableItem lists, byte-identical, in one restore' {
        $target = New-Target
        $results = @(Get-AzRecoveryPoint -Passphrase $pp | Select-Object -Last 1 | Get-AzRecoverableItem -Recurse -Passphrase $pp |
            Start-AzRecovery -Target $target -Passphrase $pp)
        $results.Count | Should -Be 1
        $result = $results[0]
        $result.PSObject.TypeNames[0] | Should -Be 'AzBackup.RestoreResult'
        $result.PointId | Should -Be $point.PointId
        $result.Target | Should -Be $target
        $result.Files | Should -Be 6
        $result.Symlinks | Should -Be 1
        $result.Copies | Should -Be 0
        $result.Skipped | Should -Be 0
        $result.Bytes | Should -Be ((Get-ChildItem -LiteralPath $data -Recurse -File | Where-Object { -not $_.LinkType } | Measure-Object Length -Sum).Sum)
        $restored = Join-Path $target $data
        Get-TestTreeHash -Path $restored | Should -Be $original
        (Get-Item -LiteralPath (Join-Path $restored 'link-to-a')).LinkTarget | Should -Be 'a.txt'
    }

    It 'restores a whole point piped from Get-AzRecoveryPoint' {
        $target = New-Target
        $result = Get-AzRecoveryPoint -Passphrase $pp | Start-AzRecovery -Target $target -Passphrase $pp
        $result.Files | Should -Be 6
        Get-TestTreeHash -Path (Join-Path $target $data) | Should -Be $original
    }

    It 'restores only the items piped in from a filtered listing' {
        $target = New-Target
        $result = Get-AzRecoverableItem -PointId latest -Filter '*.txt' -Passphrase $pp | Start-AzRecovery -Target $target -Passphrase $pp
        $result.Files | Should -Be 4
        $restored = @(Get-ChildItem -LiteralPath $target -Recurse -File)
        ($restored.Name | Sort-Object) | Should -Be (@('a.txt', 'c.txt', 'with space.txt', 'ünïcødé.txt') | Sort-Object)
        (Get-FileHash -LiteralPath (Join-Path $target "$data/sub/deeper/c.txt")).Hash | Should -Be (Get-FileHash -LiteralPath (Join-Path $data 'sub/deeper/c.txt')).Hash
    }

    It 'restores one item given with -Item (alias -Path) and point ''latest''' {
        $target = New-Target
        $result = Start-AzRecovery -PointId latest -Path (Join-Path $data 'sub/b.bin') -Target $target -Passphrase $pp
        $result.Files | Should -Be 1
        @(Get-ChildItem -LiteralPath $target -Recurse -File).Name | Should -Be 'b.bin'
        (Get-FileHash -LiteralPath (Join-Path $target "$data/sub/b.bin")).Hash | Should -Be (Get-FileHash -LiteralPath (Join-Path $data 'sub/b.bin')).Hash
    }

    It 'restores an item given twice, or inside a folder that is restored too, only once' {
        $target = New-Target
        $file = Join-Path $data 'sub/b.bin'
        $result = Start-AzRecovery -PointId latest -Item $file, (Join-Path $data 'sub'), $file, "$(Join-Path $data 'sub')/" -Target $target -Passphrase $pp
        $result.Files | Should -Be 2
        $result.Copies | Should -Be 0
        (Get-ChildItem -LiteralPath $target -Recurse -File).Name | Sort-Object | Should -Be @('b.bin', 'c.txt')
    }

    It 'handles an existing file with -Conflict <Conflict>' -ForEach @(
        @{ Conflict = 'CreateCopy'; Kept = 'local edit'; CopyName = 'a (1).txt' }
        @{ Conflict = 'Skip'; Kept = 'local edit'; CopyName = $null }
        @{ Conflict = 'Overwrite'; Kept = 'alpha 1'; CopyName = $null }
        @{ Conflict = 'OverwriteIfChanged'; Kept = 'alpha 1'; CopyName = $null }
    ) {
        $target = New-Target
        $item = Join-Path $data 'a.txt'
        $null = Start-AzRecovery -PointId $point.PointId -Item $item -Target $target -Passphrase $pp
        $restoredFile = Join-Path $target $item
        Set-Content -LiteralPath $restoredFile -Value 'local edit' -NoNewline
        $result = Start-AzRecovery -PointId $point.PointId -Item $item -Target $target -Conflict $Conflict -Passphrase $pp
        Get-Content -LiteralPath $restoredFile -Raw | Should -Be $Kept
        $siblings = @(Get-ChildItem -LiteralPath (Split-Path $restoredFile)).Name
        if ($CopyName) {
            $result.Copies | Should -Be 1
            $siblings | Should -Contain $CopyName
            Get-Content -LiteralPath (Join-Path (Split-Path $restoredFile) $CopyName) -Raw | Should -Be 'alpha 1'
        } else {
            $siblings | Should -Be @('a.txt')
        }
        if ($Conflict -eq 'Skip') { $result.Skipped | Should -Be 1 }
    }

    It 'restores to the original location without -Target' {
        $file = Join-Path $data 'with space.txt'
        $before = (Get-FileHash -LiteralPath $file).Hash
        Set-Content -LiteralPath $file -Value 'damaged by a user'
        $result = Start-AzRecovery -PointId $point.PointId -Item $file -Conflict Overwrite -Passphrase $pp -Confirm:$false
        $result.Target | Should -Be '(original location)'
        (Get-FileHash -LiteralPath $file).Hash | Should -Be $before
    }

    It 'asks before restoring to the original location (High impact): No writes nothing, -Force does not ask' {
        $file = Join-Path $data 'with space.txt'
        $before = (Get-FileHash -LiteralPath $file).Hash
        Set-Content -LiteralPath $file -Value 'changed by a user'
        $restore = "Start-AzRecovery -PointId $($point.PointId) -Item '$file' -Conflict Overwrite | Out-Null; (Get-FileHash -LiteralPath '$file').Hash"
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try {
            $no = (Invoke-TestChildPwsh $restore -Answer 'N') -replace '\s+', ' ' # the prompt wraps at the console's width
            $no | Should -Match 'Restore .* to its original location on this machine\?'
            $no | Should -Not -Match $before
            $result = Start-AzRecovery -PointId $point.PointId -Item $file -Conflict Overwrite -Force
        } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $result.Target | Should -Be '(original location)'
        (Get-FileHash -LiteralPath $file).Hash | Should -Be $before
    }

    It 'names in -WhatIf the point that latest resolves to' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $said = Invoke-TestChildPwsh "Start-AzRecovery -PointId latest -Item '$(Join-Path $data 'a.txt')' -Target '$(New-Target)' -WhatIf" } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $newest = (Get-AzRecoveryPoint -Passphrase $pp | Select-Object -Last 1).PointId
        $said | Should -Match "What if: .*recovery point latest \($($newest.Substring(0, 12))"
    }

    It 'writes nothing with -WhatIf' {
        $target = New-Target
        Get-AzRecoverableItem -PointId latest -Recurse -Passphrase $pp | Start-AzRecovery -Target $target -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        $target | Should -Not -Exist
    }

    It 'uses $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $target = New-Target
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $result = Start-AzRecovery -PointId latest -Item (Join-Path $data 'a.txt') -Target $target } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $result.Files | Should -Be 1
    }

    It 'refuses <Case> with <Code> and writes nothing' -ForEach @(
        @{ Case = 'an unknown point'; Code = 'AZB_POINT_NOT_FOUND'; Change = { @{ PointId = 'deadbeef0000' } } }
        @{ Case = 'an item that is not in the point'; Code = 'AZB_ITEM_NOT_FOUND'; Change = { @{ Item = (Join-Path $data 'no-such-file') } } }
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'not the right passphrase') } } }
    ) {
        $target = New-Target
        $params = @{ PointId = $point.PointId; Target = $target; Passphrase = $pp; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { $params[$key] = $extra[$key] }
        { Start-AzRecovery @params } | Should -Throw -ErrorId "$Code,Start-AzRecovery"
        @(Get-ChildItem -LiteralPath $target -Recurse -Force -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'refuses a restore to a file system too small for it with AZB_RESTORE_NO_SPACE, writing nothing; -Force goes past the check' -Skip:(-not $IsLinux) {
        # A real 1 MiB tmpfs (the tests run as root); the point holds a 1.5 MB file of random bytes.
        $tiny = Join-Path $root 'tiny'
        $null = New-Item -ItemType Directory -Path $tiny -Force
        & mount -t tmpfs -o size=1m azb-pester-space $tiny
        if ($LASTEXITCODE -ne 0) { throw "mount failed: $LASTEXITCODE" }
        try {
            $target = Join-Path $tiny 'restore'
            $err = { Start-AzRecovery -PointId $point.PointId -Target $target -Passphrase $pp -ErrorAction Stop } |
                Should -Throw -ErrorId 'AZB_RESTORE_NO_SPACE,Start-AzRecovery' -PassThru
            $err.Exception.Message | Should -Match 'need 1\.\d MiB on the file system of .*tiny, which has .* free'
            $err.ErrorDetails.RecommendedAction | Should -Match '-Force'
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            @(Get-ChildItem -LiteralPath $tiny -Force).Count | Should -Be 0
            # An item that fits is restored without -Force.
            (Start-AzRecovery -PointId $point.PointId -Item (Join-Path $data 'a.txt') -Target $target -Passphrase $pp -ErrorAction Stop).Files | Should -Be 1
            # -Force: past the check, the big file meets the end of the space; nothing half-written is left.
            { Start-AzRecovery -PointId $point.PointId -Target (Join-Path $tiny 'forced') -Passphrase $pp -Force -ErrorAction Stop } |
                Should -Throw -ErrorId 'AZB_RESTORE_NO_SPACE,Start-AzRecovery'
            $left = @(Get-ChildItem -LiteralPath (Join-Path $tiny 'forced') -Recurse -File -Force)
            $left.Name | Should -Not -Contain 'b.bin'
            @($left | Where-Object Name -Like '.azb-restore-*').Count | Should -Be 0
            foreach ($f in $left) {
                $relative = $f.FullName.Substring((Join-Path $tiny 'forced').Length)
                (Get-FileHash -LiteralPath $f.FullName).Hash | Should -Be (Get-FileHash -LiteralPath $relative).Hash
            }
        } finally { & umount $tiny }
    }

    It 'refuses a target that cannot be created (a path under a regular file)' {
        $file = Join-Path $root 'plain-file'
        Set-Content -LiteralPath $file -Value 'x'
        $err = { Start-AzRecovery -PointId latest -Target "$file/sub" -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_RESTORE_TARGET_NOT_WRITABLE,Start-AzRecovery' -PassThru
        $err.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err.TargetObject | Should -Be "$file/sub"
    }

    It 'restores another server''s point to its original location only with -OriginalLocation (or -Target)' {
        $null = New-TestBackupServer -Root $root -Vault $srv.Vault -HostName 'restore-srv2'
        { Start-AzRecovery -PointId $point.PointId -Server $srv.HostName -Passphrase $pp -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_RESTORE_TARGET_REQUIRED,Start-AzRecovery'
        { Start-AzRecovery -PointId $point.PointId -Server $srv.HostName -Target (New-Target) -OriginalLocation -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_USAGE,Start-AzRecovery'
        $result = Start-AzRecovery -PointId $point.PointId -Server $srv.HostName -Item (Join-Path $data 'a.txt') -OriginalLocation -Conflict Skip -Passphrase $pp -Confirm:$false
        $result.Target | Should -Be '(original location)'
        $result.Skipped | Should -Be 1
    }

    It 'clears setuid and setgid bits unless -PreserveSetuid is given' -Skip:(-not $IsLinux) {
        $folder = Join-Path $root ('suid-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $folder
        $tool = Join-Path $folder 'tool'
        Set-Content -LiteralPath $tool -Value '#!/bin/sh'
        & chmod 4755 $tool
        $suidPoint = Start-AzBackup -Path $folder -Passphrase $pp
        $cleared = New-Target
        $null = Start-AzRecovery -PointId $suidPoint.PointId -Target $cleared -Passphrase $pp
        & stat -c '%a' (Join-Path $cleared $tool) | Should -Be '755'
        $kept = New-Target
        $null = Start-AzRecovery -PointId $suidPoint.PointId -Target $kept -PreserveSetuid -Passphrase $pp
        & stat -c '%a' (Join-Path $kept $tool) | Should -Be '4755'
    }

    It 'sets SELinux labels only with -RestoreSELinuxLabel; other extended attributes always' -Skip:(-not $IsLinux) {
        # Root and the attr package are what the team's machines and CI have (tools/setup.sh installs it).
        & id -u | Should -Be '0'
        $folder = Join-Path $root ('xattr-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $folder
        $file = Join-Path $folder 'labelled.txt'
        Set-Content -LiteralPath $file -Value 'label'
        & setfattr -n user.note -v kept $file
        & setfattr -n security.selinux -v 'system_u:object_r:etc_t:s0' $file
        $LASTEXITCODE | Should -Be 0
        $xattrPoint = Start-AzBackup -Path $folder -Passphrase $pp
        $plain = New-Target
        $null = Start-AzRecovery -PointId $xattrPoint.PointId -Target $plain -Passphrase $pp
        $plainAttrs = (& getfattr -d -m - -e text (Join-Path $plain $file) 2>$null) -join "`n"
        $plainAttrs | Should -Match 'user\.note="kept"'
        $plainAttrs | Should -Not -Match 'security\.selinux'
        $labelled = New-Target
        $null = Start-AzRecovery -PointId $xattrPoint.PointId -Target $labelled -RestoreSELinuxLabel -Passphrase $pp
        (& getfattr -n security.selinux --only-values (Join-Path $labelled $file) 2>$null) | Should -Be 'system_u:object_r:etc_t:s0'
    }

    It 'records a failed restore as a Failed job' {
        $null = Start-AzRecovery -PointId 'deadbeef0000' -Target (New-Target) -Passphrase $pp -ErrorAction SilentlyContinue
        $job = Get-AzBackupJob -Previous 1
        $job.Operation | Should -Be 'Restore'
        $job.Status | Should -Be 'Failed'
        $job.Errors[0].code | Should -Be 'AZB_POINT_NOT_FOUND'
    }
}
