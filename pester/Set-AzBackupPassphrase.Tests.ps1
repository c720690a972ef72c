BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'pass-srv'
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:point = Start-AzBackup -Path $data -Passphrase $srv.Passphrase
    # The passphrase that currently opens the server; tests change it in turn.
    $script:current = $srv.Passphrase
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Set-AzBackupPassphrase' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'changes the passphrase: the new one opens the backups, the old one no longer does' {
        $new = New-TestSecureString 'The second passphrase, long enough'
        $change = Set-AzBackupPassphrase -Passphrase $current -NewPassphrase $new -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
        $change.PSObject.TypeNames[0] | Should -Be 'AzBackup.PassphraseChange'
        $change.ServerId | Should -Be $srv.ServerId
        $change.Hostname | Should -Be 'pass-srv'
        $change.Changed | Should -BeOfType [datetime]
        "$warnings" | Should -BeLike '*old passphrase no longer opens*'
        { Get-AzRecoveryPoint -Passphrase $current -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Get-AzRecoveryPoint'
        (Get-AzRecoveryPoint -Passphrase $new).PointId | Should -Be $point.PointId
        $script:current = $new
    }

    It 'keeps backups working with the new passphrase (the signing key still opens)' {
        Add-Content -LiteralPath (Join-Path $data 'a.txt') -Value 'changed'
        $next = Start-AzBackup -Path $data -Passphrase $current
        $next.FilesChanged | Should -Be 1
        @(Get-AzRecoveryPoint -Passphrase $current).Count | Should -Be 2
    }

    It 'takes the current passphrase from $env:AZBACKUP_PASSPHRASE' {
        $env:AZBACKUP_PASSPHRASE = 'The second passphrase, long enough'
        $new = New-TestSecureString 'The third passphrase, from the environment'
        try {
            $null = Set-AzBackupPassphrase -NewPassphrase $new -Confirm:$false -WarningAction SilentlyContinue
        } finally { $env:AZBACKUP_PASSPHRASE = $null }
        @(Get-AzRecoveryPoint -Passphrase $new).Count | Should -Be 2
        $script:current = $new
    }

    It 'changes nothing with -WhatIf' {
        Set-AzBackupPassphrase -Passphrase $current -NewPassphrase (New-TestSecureString 'Never applied passphrase 123') -WhatIf | Should -BeNullOrEmpty
        @(Get-AzRecoveryPoint -Passphrase $current).Count | Should -Be 2
    }

    It 'refuses <Case> with <Code> and keeps the current passphrase' -ForEach @(
        @{ Case = 'a new passphrase under 16 characters'; Code = 'AZB_PASSPHRASE_TOO_SHORT'; Old = $null; New = 'short-one' }
        @{ Case = 'a wrong current passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Old = 'Not the passphrase at all!'; New = 'A fine new passphrase 42' }
    ) {
        $oldPassphrase = if ($Old) { New-TestSecureString $Old } else { $current }
        $err = { Set-AzBackupPassphrase -Passphrase $oldPassphrase -NewPassphrase (New-TestSecureString $New) -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "$Code,Set-AzBackupPassphrase" -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        @(Get-AzRecoveryPoint -Passphrase $current).Count | Should -Be 2
    }

    It 'generates a new passphrase into a new owner-only file with -GeneratePassphrase, and never writes over a file' {
        $file = Join-Path $root 'generated-passphrase.txt'
        $change = Set-AzBackupPassphrase -Passphrase $current -GeneratePassphrase -PassphraseOutFile $file -Confirm:$false -WarningAction SilentlyContinue
        $change.PassphraseFile | Should -Be $file
        (Get-Item -LiteralPath $file).UnixFileMode | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
        $text = (Get-Content -LiteralPath $file -Raw).Trim()
        $text | Should -Match '^([A-Z2-9]{5}-){5}[A-Z2-9]{5}$'
        { Get-AzRecoveryPoint -Passphrase $current -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Get-AzRecoveryPoint'
        $script:current = New-TestSecureString $text
        @(Get-AzRecoveryPoint -Passphrase $current).Count | Should -Be 2
        # The file exists now: a second generation refuses it and changes nothing.
        { Set-AzBackupPassphrase -Passphrase $current -GeneratePassphrase -PassphraseOutFile $file -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_FILE_EXISTS,Set-AzBackupPassphrase'
        @(Get-AzRecoveryPoint -Passphrase $current).Count | Should -Be 2
        (Get-Content -LiteralPath $file -Raw).Trim() | Should -Be $text
    }

    It 'writes no file when the current passphrase is wrong' {
        $file = Join-Path $root 'never-used.txt'
        { Set-AzBackupPassphrase -Passphrase (New-TestSecureString 'Not the passphrase at all!') -GeneratePassphrase -PassphraseOutFile $file -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Set-AzBackupPassphrase'
        $file | Should -Not -Exist
    }

    It 'refuses an unknown server' {
        { Set-AzBackupPassphrase -Server 'no-such-host' -Passphrase $current -NewPassphrase (New-TestSecureString 'A fine new passphrase 42') -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_SERVER_NOT_FOUND,Set-AzBackupPassphrase'
    }
}
