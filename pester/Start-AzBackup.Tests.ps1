BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'backup-srv'
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:pp = $srv.Passphrase

    function script:Get-PointCount { @(Get-AzRecoveryPoint -Passphrase $pp -ErrorAction Stop).Count }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-AzBackup of files and folders' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'backs up a folder into a new typed AzBackup.RecoveryPoint' {
        $point = Start-AzBackup -Path $data -Passphrase $pp -Tag 'first', 'pester'
        $point.PSObject.TypeNames[0] | Should -Be 'AzBackup.RecoveryPoint'
        $point.PointId | Should -Match '^[0-9a-f]{64}$'
        $point.ServerId | Should -Be $srv.ServerId
        $point.Hostname | Should -Be 'backup-srv'
        $point.Time | Should -BeOfType [datetime]
        $point.Sources | Should -Be @($data)
        $point.Tags | Should -Be @('first', 'pester')
        $point.FilesNew | Should -Be 6
        $point.Dirs | Should -Be 3
        $point.BytesRead | Should -Be ((Get-ChildItem -LiteralPath $data -Recurse -File | Measure-Object Length -Sum).Sum)
        $point.BytesAdded | Should -BeGreaterThan 0
        $point.Vault | Should -Be $srv.Vault
        (Get-AzRecoveryPoint -Passphrase $pp).PointId | Should -Contain $point.PointId
    }

    It 'reads only what changed on the next backup' {
        Set-Content -LiteralPath (Join-Path $data 'a.txt') -Value 'alpha changed' -NoNewline
        $point = Start-AzBackup -Path $data -Passphrase $pp
        $point.FilesChanged | Should -Be 1
        $point.FilesUnchanged | Should -Be 5
        $point.FilesNew | Should -Be 0
        $point.BytesAdded | Should -BeLessThan 100000
    }

    It 'leaves out what -Exclude names' {
        $point = Start-AzBackup -Path $data -Exclude '*.bin', 'deeper' -Passphrase $pp
        $names = (Get-AzRecoverableItem -PointId $point.PointId -Recurse -Passphrase $pp).Name
        $names | Should -Contain 'a.txt'
        $names | Should -Not -Contain 'b.bin'
        $names | Should -Not -Contain 'deeper'
        $names | Should -Not -Contain 'c.txt'
    }

    It 'resolves relative paths and takes several paths from the pipeline into one point' {
        Push-Location $data
        try {
            $point = Get-ChildItem -LiteralPath $data -Filter '*.txt' | Start-AzBackup -Passphrase $pp
            $relative = Start-AzBackup -Path 'sub' -Passphrase $pp
        } finally { Pop-Location }
        @($point).Count | Should -Be 1
        ($point.Sources | Sort-Object) | Should -Be (Get-ChildItem -LiteralPath $data -Filter '*.txt' | ForEach-Object FullName | Sort-Object)
        $relative.Sources | Should -Be @(Join-Path $data 'sub')
    }

    It 'expands wildcards in -Path, takes an existing name with brackets literally, and refuses a pattern that matches nothing' {
        $point = Start-AzBackup -Path (Join-Path $data '*.txt') -Passphrase $pp
        ($point.Sources | Sort-Object) | Should -Be (Get-ChildItem -LiteralPath $data -Filter '*.txt' | ForEach-Object FullName | Sort-Object)
        $bracketed = Join-Path $root 'report[1]'
        $null = New-Item -ItemType Directory -Path $bracketed -Force
        Set-Content -LiteralPath (Join-Path $bracketed 'r.txt') -Value 'r'
        (Start-AzBackup -Path $bracketed -Passphrase $pp).Sources | Should -Be @($bracketed)
        $before = @(Get-AzRecoveryPoint -Passphrase $pp).Count
        { Start-AzBackup -Path (Join-Path $data '*.nothing') -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SOURCE_NOT_FOUND,Start-AzBackup'
        @(Get-AzRecoveryPoint -Passphrase $pp).Count | Should -Be $before
    }

    It 'passes -AccessTier to the engine (which refuses it for a folder vault) and offers only Hot, Cool and Cold' {
        # The tiers themselves are checked on Azurite in test/commands/backends.test.ts.
        { Start-AzBackup -Path $data -AccessTier Cool -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ARGS_INVALID,Start-AzBackup'
        { Start-AzBackup -Path $data -AccessTier Archive -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Start-AzBackup'
    }

    It 'makes a nightly script that follows about_AzBackup exit non-zero when the backup fails' {
        $script = Join-Path $root 'nightly.ps1'
        Set-Content -LiteralPath $script -Value @(
            "Import-Module '$(Join-Path $PSScriptRoot '../module/AzBackup.psd1')'"
            '$ErrorActionPreference = ''Stop'''
            "Start-AzBackup -Path '$data'"
            "'not reached'"
        )
        $self = Get-TestPwshCommand
        $env:AZBACKUP_PASSPHRASE = 'not the passphrase of this server'
        try { $out = & $self[0] @($self | Select-Object -Skip 1) -NoProfile -NonInteractive -File $script 2>&1 | Out-String } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $LASTEXITCODE | Should -Be 1
        $out | Should -Match 'AZB_PASSPHRASE_WRONG|passphrase'
        $out | Should -Not -Match 'not reached'
    }

    It 'uses $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $before = Get-PointCount
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $point = Start-AzBackup -Path $data } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $point.PointId | Should -Match '^[0-9a-f]{64}$'
        Get-PointCount | Should -Be ($before + 1)
    }

    It 'writes no recovery point with -WhatIf' {
        $before = Get-PointCount
        Start-AzBackup -Path $data -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        Get-PointCount | Should -Be $before
    }

    It 'records the backup as a Completed job' {
        $point = Start-AzBackup -Path $data -Passphrase $pp
        $job = Get-AzBackupJob -Previous 1
        $job.Operation | Should -Be 'Backup'
        $job.Status | Should -Be 'Completed'
        $job.Stats.PointId | Should -Be $point.PointId
    }

    It 'refuses <Case> with <Code> and writes no recovery point' -ForEach @(
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'this is not the passphrase') } } }
        @{ Case = 'no passphrase'; Code = 'AZB_PASSPHRASE_REQUIRED'; Change = { @{ Passphrase = $null } } }
        @{ Case = 'a missing source'; Code = 'AZB_SOURCE_NOT_FOUND'; Change = { @{ Path = @($data, (Join-Path $root 'no-such-folder')) } } }
        @{ Case = 'a tag with a space'; Code = 'AZB_ARGS_INVALID'; Change = { @{ Tag = 'not valid' } } }
    ) {
        $before = Get-PointCount
        $params = @{ Path = $data; Passphrase = $pp; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { if ($null -eq $extra[$key]) { $params.Remove($key) } else { $params[$key] = $extra[$key] } }
        $err = { Start-AzBackup @params } | Should -Throw -ErrorId "$Code,Start-AzBackup" -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Get-PointCount | Should -Be $before
    }

    It 'refuses to back up on a machine that is not registered with the vault' {
        $null = New-TestHome -Root $root
        $err = { Start-AzBackup -Vault $srv.Vault -Path $data -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_SERVER_NOT_REGISTERED,Start-AzBackup' -PassThru
        $err.TargetObject | Should -Be $srv.Vault
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'a missing vault'; Code = 'AZB_VAULT_NOT_FOUND'; Folder = 'missing-vault' }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; Folder = 'data' }
    ) {
        { Start-AzBackup -Vault (Join-Path $root $Folder) -Path $data -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId "$Code,Start-AzBackup"
    }
}

Describe 'Start-AzBackup -FilesFrom, -ExcludeFile, -ExcludeCaches and -OneFileSystem' {
    BeforeAll {
        $script:sel = Join-Path $root 'select'
        $null = New-Item -ItemType Directory -Path (Join-Path $sel 'docs/mnt'), (Join-Path $sel 'build/cache'), (Join-Path $sel 'other') -Force
        Set-Content -LiteralPath (Join-Path $sel 'docs/a.txt') -Value 'a'
        Set-Content -LiteralPath (Join-Path $sel 'docs/b.tmp') -Value 'b'
        Set-Content -LiteralPath (Join-Path $sel 'build/out.bin') -Value 'o'
        Set-Content -LiteralPath (Join-Path $sel 'build/cache/blob') -Value 'cached'
        [System.IO.File]::WriteAllText((Join-Path $sel 'build/cache/CACHEDIR.TAG'), "Signature: 8a477f597d28d172789f06886806bc55`n")
        Set-Content -LiteralPath (Join-Path $sel 'other/not-listed.txt') -Value 'n'
        # A real second file system below a source (the tests run as root on Linux).
        $script:mnt = Join-Path $sel 'docs/mnt'
        if ($IsLinux) {
            & mount -t tmpfs -o size=1m azb-pester-select $mnt
            if ($LASTEXITCODE -ne 0) { throw "mount failed: $LASTEXITCODE" }
            Set-Content -LiteralPath (Join-Path $mnt 'elsewhere.txt') -Value 'on the tmpfs'
        }
    }
    AfterAll { if ($IsLinux) { & umount $mnt } }
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'backs up what the list names (relative to the current location), without what the exclude file and the cache tag leave out, on one file system' -Skip:(-not $IsLinux) {
        Set-Content -LiteralPath (Join-Path $sel 'files.txt') -Value "# sources`n  docs  `nbu*`n"
        Set-Content -LiteralPath (Join-Path $sel 'excludes.txt') -Value "# temporary files`n*.tmp`n"
        Push-Location $sel
        try {
            $point = Start-AzBackup -FilesFrom 'files.txt' -ExcludeFile 'excludes.txt' -ExcludeCaches -OneFileSystem -Passphrase $pp -ErrorAction Stop
        } finally { Pop-Location }
        $point.Sources | Should -Be @((Join-Path $sel 'docs'), (Join-Path $sel 'build'))
        $point.OtherFileSystems | Should -Be @($mnt)
        $paths = (Get-AzRecoverableItem -PointId $point.PointId -Recurse -Passphrase $pp).Path | Sort-Object
        $paths | Should -Be (@('build', 'build/cache', 'build/cache/CACHEDIR.TAG', 'build/out.bin', 'docs', 'docs/a.txt', 'docs/mnt') | ForEach-Object { Join-Path $sel $_ } | Sort-Object)
        # -Path and -FilesFrom add up; without the switches everything below is taken. (The list's
        # relative lines are relative to the current location, as in restic, not to the list's folder.)
        Push-Location $sel
        try {
            $all = Start-AzBackup -Path 'other' -FilesFrom 'files.txt' -Passphrase $pp -ErrorAction Stop -WarningVariable skipped -WarningAction SilentlyContinue
        } finally { Pop-Location }
        # Without -OneFileSystem the tmpfs, a file system AzBackup refuses, is skipped and named.
        ($skipped | Where-Object { "$_" -like "*Not entered: $mnt*tmpfs*" }) | Should -Not -BeNullOrEmpty
        $all.Sources | Should -Be @((Join-Path $sel 'other'), (Join-Path $sel 'docs'), (Join-Path $sel 'build'))
        $all.PSObject.Properties.Name | Should -Not -Contain 'OtherFileSystems'
        $allPaths = (Get-AzRecoverableItem -PointId $all.PointId -Recurse -Passphrase $pp).Path
        $allPaths | Should -Not -Contain (Join-Path $mnt 'elsewhere.txt')
        $allPaths | Should -Contain (Join-Path $sel 'build/cache/blob')
    }

    It 'refuses <Case> with <Code>, naming the file, and writes no recovery point' -ForEach @(
        @{ Case = 'a missing exclude file'; Code = 'AZB_FILE_NOT_FOUND'; Params = { @{ Path = $sel; ExcludeFile = (Join-Path $sel 'no-such-list') } }; Target = { Join-Path $sel 'no-such-list' } }
        @{ Case = 'a missing files-from list'; Code = 'AZB_FILE_NOT_FOUND'; Params = { @{ FilesFrom = (Join-Path $sel 'no-such-list') } }; Target = { Join-Path $sel 'no-such-list' } }
        @{ Case = 'a folder as exclude file'; Code = 'AZB_PATH_IS_DIRECTORY'; Params = { @{ Path = $sel; ExcludeFile = $sel } }; Target = { $sel } }
        @{ Case = 'a refused pattern on line 2'; Code = 'AZB_ARGS_INVALID'; Params = { Set-Content -LiteralPath (Join-Path $sel 'bad.txt') -Value "*.tmp`n!keep`n"; @{ Path = $sel; ExcludeFile = (Join-Path $sel 'bad.txt') } }; Target = { (Join-Path $sel 'bad.txt') + ':2' } }
        @{ Case = 'a list of nothing that exists'; Code = 'AZB_SOURCE_NOT_FOUND'; Params = { Set-Content -LiteralPath (Join-Path $sel 'gone.txt') -Value "$sel/gone`n"; @{ FilesFrom = (Join-Path $sel 'gone.txt') } }; Target = { Join-Path $sel 'gone.txt' } }
    ) {
        $before = Get-PointCount
        $params = & $Params
        $err = { Start-AzBackup @params -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Start-AzBackup" -PassThru
        $err.TargetObject | Should -Be (& $Target)
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Get-PointCount | Should -Be $before
    }

    It 'warns about a list line that matches nothing (AZB_FILES_FROM_NO_MATCH) and backs up the rest' {
        Set-Content -LiteralPath (Join-Path $sel 'half.txt') -Value "$sel/other`n$sel/gone/*`n"
        $point = Start-AzBackup -FilesFrom (Join-Path $sel 'half.txt') -Passphrase $pp -WarningVariable warned -WarningAction SilentlyContinue -ErrorAction Stop
        $point.Sources | Should -Be @(Join-Path $sel 'other')
        ($warned -join "`n") | Should -Match 'line 2'
    }

    It 'writes no recovery point with -WhatIf' {
        $before = Get-PointCount
        Start-AzBackup -FilesFrom (Join-Path $sel 'half.txt') -Passphrase $pp -WhatIf
        Get-PointCount | Should -Be $before
    }
}

Describe 'Start-AzBackup -FromCommand' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'backs up the output of a native command as one file, restored byte for byte' {
        $point = Start-AzBackup -FromCommand 'seq' -ArgumentList '1', '100000' -StreamName 'nums.txt' -Passphrase $pp -Tag 'stream'
        $point.PSObject.TypeNames[0] | Should -Be 'AzBackup.RecoveryPoint'
        $point.Sources | Should -Be @('nums.txt')
        $point.FilesNew | Should -Be 1
        $expected = Join-Path $root 'nums-expected.txt'
        seq 1 100000 | Set-Content -LiteralPath $expected
        $point.BytesRead | Should -Be (Get-Item -LiteralPath $expected).Length
        $item = Get-AzRecoverableItem -PointId $point.PointId -Passphrase $pp
        $item.Path | Should -Be 'nums.txt'
        $item.Size | Should -Be (Get-Item -LiteralPath $expected).Length
        $target = Join-Path $root 'restore-nums'
        $null = $point | Start-AzRecovery -Target $target -Passphrase $pp
        (Get-FileHash -LiteralPath (Join-Path $target 'nums.txt')).Hash | Should -Be (Get-FileHash -LiteralPath $expected).Hash
    }

    It 'passes binary output through untouched' {
        $binary = Join-Path $data 'sub/b.bin'
        $point = Start-AzBackup -FromCommand 'cat' -ArgumentList $binary -StreamName 'copy.bin' -Passphrase $pp
        $target = Join-Path $root 'restore-bin'
        $null = Start-AzRecovery -PointId $point.PointId -Target $target -Passphrase $pp
        (Get-FileHash -LiteralPath (Join-Path $target 'copy.bin')).Hash | Should -Be (Get-FileHash -LiteralPath $binary).Hash
    }

    It 'gives the command an environment without AzBackup''s variables: no secret ends up in the backup' {
        # What the command prints is stored: with the engine's environment, `env` put the passphrase,
        # storage keys and the names of secret files into the backup.
        $planted = [ordered]@{
            AZBACKUP_PASSPHRASE                 = $srv.PassphraseText
            AZBACKUP_NEW_PASSPHRASE             = 'new-passphrase-canary-0001'
            AZBACKUP_STORAGE_KEY                = 'storage-key-canary-0002'
            AZBACKUP_STORAGE_SAS                = 'sas-canary-0003'
            AZBACKUP_STORAGE_CONNECTION_STRING  = 'connection-string-canary-0004'
            AZBACKUP_PROXY_PASSWORD             = 'proxy-password-canary-0005'
            AZBACKUP_STORAGE_KEY_FILE           = '/nonexistent/storage-key-file-canary-0006'
            AZBACKUP_PASSPHRASE_FILE            = '/nonexistent/passphrase-file-canary-0007'
        }
        try {
            foreach ($name in $planted.Keys) { [System.Environment]::SetEnvironmentVariable($name, $planted[$name]) }
            $point = Start-AzBackup -FromCommand 'env' -StreamName 'env.txt' -Passphrase $pp
        } finally {
            foreach ($name in $planted.Keys) { [System.Environment]::SetEnvironmentVariable($name, $null) }
        }
        $target = Join-Path $root 'restore-env'
        $null = Start-AzRecovery -PointId $point.PointId -Target $target -Passphrase $pp
        $lines = Get-Content -LiteralPath (Join-Path $target 'env.txt')
        $lines | Where-Object { $_ -like 'PATH=*' } | Should -Not -BeNullOrEmpty  # the rest of the environment is there
        $lines | Where-Object { $_ -like 'AZBACKUP_*' } | Should -BeNullOrEmpty
        $text = $lines -join "`n"
        foreach ($value in $planted.Values) { $text | Should -Not -BeLike "*$value*" }
    }

    It 'stops the backup, writes no recovery point and names the command when it fails' {
        $before = Get-PointCount
        $Error.Clear()
        $out = Start-AzBackup -FromCommand 'sh' -ArgumentList '-c', 'seq 1 200000; echo "dump failed: disk gone" >&2; exit 3' -StreamName 'broken.txt' `
            -Passphrase $pp -ErrorVariable errs -ErrorAction SilentlyContinue -Verbose 4>&1
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'AZB_SOURCE_COMMAND_FAILED,Start-AzBackup'
        $errs[0].Exception.Message | Should -BeLike "*'sh -c*exit code 3*no recovery point*"
        $errs[0].TargetObject | Should -BeLike 'sh -c *'
        # The command's stderr is verbose output, never an error record.
        ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'sh: dump failed: disk gone'
        $out | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.RecoveryPoint' } | Should -BeNullOrEmpty
        $Error.Count | Should -Be 1
        Get-PointCount | Should -Be $before
        (Get-AzRecoverableItem -PointId latest -Passphrase $pp -ErrorAction SilentlyContinue).Path | Should -Not -Contain 'broken.txt'
    }

    It 'fails the same way when the command fails before writing anything' {
        $before = Get-PointCount
        { Start-AzBackup -FromCommand 'false' -StreamName 'nothing.txt' -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_SOURCE_COMMAND_FAILED,Start-AzBackup'
        Get-PointCount | Should -Be $before
    }

    It 'says when the command does not exist' {
        $err = { Start-AzBackup -FromCommand 'no-such-command-azb' -StreamName 'x.txt' -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_SOURCE_COMMAND_NOT_FOUND,Start-AzBackup' -PassThru
        $err.TargetObject | Should -Be 'no-such-command-azb'
    }

    It 'reports the engine''s error and stops the command when the engine refuses (wrong passphrase)' {
        $before = Get-PointCount
        # `yes` never ends by itself: the cmdlet returns only because it stopped the command.
        $pidFile = Join-Path $root 'endless-source.pid'
        { Start-AzBackup -FromCommand 'sh' -ArgumentList '-c', "echo `$`$ > '$pidFile'; exec yes" -StreamName 'big.txt' -Passphrase (New-TestSecureString 'wrong passphrase, long enough') -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Start-AzBackup'
        $sourcePid = [int](Get-Content -LiteralPath $pidFile)
        Get-Process -Id $sourcePid -ErrorAction SilentlyContinue | Should -BeNullOrEmpty -Because 'the command is stopped, not left running'
        Get-PointCount | Should -Be $before
    }

    It 'refuses a stream name that is not a plain file name' {
        { Start-AzBackup -FromCommand 'seq' -ArgumentList '1', '10' -StreamName 'a/b.txt' -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ARGS_INVALID,Start-AzBackup'
    }

    It 'writes no recovery point with -WhatIf' {
        $before = Get-PointCount
        Start-AzBackup -FromCommand 'seq' -ArgumentList '1', '10' -StreamName 'w.txt' -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        Get-PointCount | Should -Be $before
    }
}

Describe 'Start-AzBackup stopped with Ctrl+C' {
    BeforeEach {
        $env:AZBACKUP_HOME = $srv.Home
        $env:AZBACKUP_PASSPHRASE = $null
        $script:module = Join-Path $PSScriptRoot '../module/AzBackup.psd1'
        # Stopping a pipeline from the outside is what Ctrl+C does to the one at the prompt.
        function script:Stop-RunningBackup([scriptblock]$Backup, [string]$Path = '') {
            $shell = [powershell]::Create()
            try {
                $null = $shell.AddScript($Backup).AddArgument($module).AddArgument($srv.PassphraseText).AddArgument($Path)
                $async = $shell.BeginInvoke()
                $running = $null
                $deadline = (Get-Date).AddSeconds(60)
                while (-not $running -and -not $async.IsCompleted -and (Get-Date) -lt $deadline) {
                    Start-Sleep -Milliseconds 100
                    $running = Get-AzBackupJob -Status InProgress
                }
                $running | Should -Not -BeNullOrEmpty -Because 'the backup must still be running when it is stopped'
                $shell.Stop()
                Get-AzBackupJob -JobId $running.JobId
            } finally {
                $shell.Dispose()
            }
        }
    }

    It 'cancels the engine of a backup of files: the job ends Cancelled and no recovery point is written' {
        $big = Join-Path $root 'ctrl-c'
        $null = New-Item -ItemType Directory -Path $big -Force
        # 64 GiB of holes: far more than the test lets it read.
        $file = [System.IO.File]::Create((Join-Path $big 'sparse.img'))
        $file.SetLength(64GB)
        $file.Dispose()
        $before = Get-PointCount
        $job = Stop-RunningBackup -Path $big -Backup {
            param($module, $passphrase, $path)
            Import-Module $module
            Start-AzBackup -Path $path -Passphrase (ConvertTo-SecureString $passphrase -AsPlainText -Force)
        }
        $job.Status | Should -Be 'Cancelled'
        $job.Errors.code | Should -Be 'AZB_CANCELLED'
        Get-PointCount | Should -Be $before
        @(Get-Process -Name azbackup -ErrorAction SilentlyContinue | Where-Object { $_.Id -eq $job.Pid }) | Should -BeNullOrEmpty
    }

    It 'cancels the engine of a stream backup before it stops the command, so no partial stream is stored' {
        $before = Get-PointCount
        $job = Stop-RunningBackup {
            param($module, $passphrase)
            Import-Module $module
            Start-AzBackup -FromCommand 'sh' -ArgumentList '-c', 'i=0; while [ $i -lt 800 ]; do head -c 65536 /dev/urandom; sleep 0.05; i=$((i+1)); done' `
                -StreamName 'slow.bin' -Passphrase (ConvertTo-SecureString $passphrase -AsPlainText -Force)
        }
        $job.Status | Should -Be 'Cancelled'
        Get-PointCount | Should -Be $before
    }
}
