BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')

    # A registered server with two points and its passphrase in an owner-only file.
    function script:New-LeavingServer([string]$HostName) {
        $srv = New-TestBackupServer -Root $root -HostName $HostName
        1..2 | ForEach-Object {
            Set-Content -LiteralPath (Join-Path $data 'a.txt') -Value "version $_"
            $null = Start-AzBackup -Path $data -Passphrase $srv.Passphrase
        }
        $file = Join-Path $root "$HostName.passphrase"
        Set-Content -LiteralPath $file -Value $srv.PassphraseText
        if (-not $IsWindows) { chmod 600 $file }
        $srv | Add-Member -NotePropertyName PassphraseFile -NotePropertyValue $file -PassThru
    }
    function script:Get-RegistrationFile($srv) { @(Get-ChildItem -LiteralPath (Join-Path $srv.Home 'registrations') -Filter '*.json' -ErrorAction SilentlyContinue) }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Unregister-AzBackupServer' {
    BeforeEach { $env:AZBACKUP_PASSPHRASE = $null }

    It 'names the points and the outcome in -WhatIf, and changes nothing' {
        $srv = New-LeavingServer 'whatif-srv'
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try {
            $kept = (Invoke-TestChildPwsh 'Unregister-AzBackupServer -WhatIf') -replace '\s+', ' '
            $deleted = (Invoke-TestChildPwsh 'Unregister-AzBackupServer -DeleteBackup -WhatIf') -replace '\s+', ' '
        } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $kept | Should -Match "What if: .*keep its 2 recovery point\(s\) in the vault.*server whatif-srv \($($srv.ServerId)\)"
        $deleted | Should -Match 'What if: .*delete its 2 recovery point\(s\) \(recoverable for 14 days'
        Get-RegistrationFile $srv | Should -HaveCount 1
        @(Get-AzRecoveryPoint -Passphrase $srv.Passphrase).Count | Should -Be 2
    }

    It 'asks first (High impact): answering No unregisters nothing' {
        $srv = New-LeavingServer 'ask-srv'
        $said = (Invoke-TestChildPwsh "Unregister-AzBackupServer -DeleteBackup -PassphraseFile '$($srv.PassphraseFile)'" -Answer 'N') -replace '\s+', ' '
        $said | Should -Match 'Are you sure.*delete its 2 recovery point'
        Get-RegistrationFile $srv | Should -HaveCount 1
        @(Get-AzRecoveryPoint -Passphrase $srv.Passphrase).Count | Should -Be 2
    }

    It 'unregisters with -DeleteBackup; another server with the passphrase lists the points as deleted and brings them back' {
        $srv = New-LeavingServer 'gone-srv'
        $out = Unregister-AzBackupServer -DeleteBackup -PassphraseFile $srv.PassphraseFile -Confirm:$false
        $out.PSObject.TypeNames[0] | Should -Be 'AzBackup.UnregisteredServer'
        $out.ServerId | Should -Be $srv.ServerId
        $out.PointsDeleted | Should -Be 2
        $out.PointsKept | Should -Be 0
        $out.PurgeAfter | Should -BeOfType [datetime]
        Get-RegistrationFile $srv | Should -HaveCount 0
        { Get-AzRecoveryPoint -Vault $srv.Vault -Passphrase $srv.Passphrase -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SERVER_NOT_REGISTERED,Get-AzRecoveryPoint'

        $other = New-TestBackupServer -Root $root -Vault $srv.Vault -HostName 'rescuer'
        Get-AzRecoveryPoint -Server $srv.ServerId -Passphrase $srv.Passphrase | Should -BeNullOrEmpty
        $deleted = @(Get-AzRecoveryPoint -Server $srv.ServerId -Deleted -PassphraseFile $srv.PassphraseFile)
        $deleted.Count | Should -Be 2
        $back = $deleted | Restore-AzRecoveryPoint -PassphraseFile $srv.PassphraseFile -Confirm:$false
        @($back).Count | Should -Be 2
        $target = Join-Path $root 'rescued'
        $null = Start-AzRecovery -Server $srv.ServerId -PointId $deleted[1].PointId -Target $target -PassphraseFile $srv.PassphraseFile
        Get-Content -LiteralPath (Join-Path $target "$data/a.txt") | Should -Be 'version 2'
        $other.Registration | Should -Not -BeNullOrEmpty
    }

    It 'keeps the points without -DeleteBackup' {
        $srv = New-LeavingServer 'keep-srv'
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $out = Unregister-AzBackupServer -Confirm:$false } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $out.PointsKept | Should -Be 2
        $out.PointsDeleted | Should -Be 0
        Get-RegistrationFile $srv | Should -HaveCount 0
        $null = New-TestBackupServer -Root $root -Vault $srv.Vault -HostName 'keep-srv-2'
        @(Get-AzRecoveryPoint -Server $srv.ServerId -Passphrase $srv.Passphrase).Count | Should -Be 2
    }

    It 'refuses <Case> with <Code> and unregisters nothing' -ForEach @(
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Params = { @{ Passphrase = (New-TestSecureString 'not the right passphrase at all') } } }
        @{ Case = 'a passphrase and a passphrase file'; Code = 'AZB_SECRET_SOURCE'; Params = { @{ Passphrase = $srv.Passphrase; PassphraseFile = $srv.PassphraseFile } } }
        @{ Case = 'a passphrase file others can read'; Code = 'AZB_SECRET_FILE_UNPROTECTED'; Params = { $f = Join-Path $root 'open.pw'; Set-Content -LiteralPath $f -Value $srv.PassphraseText; chmod 644 $f; @{ PassphraseFile = $f } } }
        @{ Case = 'a missing passphrase file'; Code = 'AZB_FILE_NOT_FOUND'; Params = { @{ PassphraseFile = (Join-Path $root 'no-such.pw') } } }
        @{ Case = 'an empty passphrase file'; Code = 'AZB_SECRET_SOURCE'; Params = { $f = Join-Path $root 'empty.pw'; Set-Content -LiteralPath $f -Value ''; chmod 600 $f; @{ PassphraseFile = $f } } }
    ) {
        if (-not (Get-Variable -Name refuser -Scope Script -ErrorAction SilentlyContinue)) { $script:refuser = New-LeavingServer 'refuse-srv' }
        $srv = $script:refuser
        $env:AZBACKUP_HOME = $srv.Home
        $params = & $Params
        { Unregister-AzBackupServer @params -DeleteBackup -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Unregister-AzBackupServer"
        Get-RegistrationFile $srv | Should -HaveCount 1
        @(Get-AzRecoveryPoint -Passphrase $srv.Passphrase).Count | Should -Be 2
    }

    It 'refuses on a machine that is not registered with the vault (AZB_SERVER_NOT_REGISTERED)' {
        $srv = New-LeavingServer 'elsewhere-srv'
        $null = New-TestHome -Root $root
        { Unregister-AzBackupServer -Vault $srv.Vault -PassphraseFile $srv.PassphraseFile -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SERVER_NOT_REGISTERED,Unregister-AzBackupServer'
        Get-RegistrationFile $srv | Should -HaveCount 1
    }
}
