BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:password = New-TestSecureString
    $script:passphraseText = 'Register passphrase 0123456789'
    $script:passphrase = New-TestSecureString $passphraseText
    $script:vault = (New-AzBackupVault -Path (Join-Path $root 'vault')).Vault
    $script:cert = New-AzBackupCertificate -Subject 'CN=reg01' -OutputDirectory $root -PfxPassword $password
    $null = $cert | Add-AzBackupVaultCertificate -Vault $vault
    $notUploadedDir = (New-Item -ItemType Directory -Path (Join-Path $root 'not-uploaded')).FullName
    $script:notUploaded = New-AzBackupCertificate -Subject 'CN=reg02' -OutputDirectory $notUploadedDir -PfxPassword $password

    function script:Get-ServerCount([string]$VaultPath = $vault) { @(Get-AzBackupServer -Vault $VaultPath).Count }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Register-AzBackupServer' {
    BeforeEach {
        # Each test is a new machine: its own AzBackup home, no passphrase in the environment.
        $script:homePath = New-TestHome -Root $root
        $env:AZBACKUP_PASSPHRASE = $null
    }

    It 'registers with a passphrase, saves the registration and warns to keep the passphrase safe' {
        $registration = Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password `
            -Passphrase $passphrase -HostName 'srv-one' -WarningVariable warnings -WarningAction SilentlyContinue
        $registration.PSObject.TypeNames[0] | Should -Be 'AzBackup.Registration'
        $registration.ServerId | Should -Match '^[0-9a-f]{64}$'
        $registration.Hostname | Should -Be 'srv-one'
        $registration.Certificate | Should -Be $cert.Thumbprint
        $registration.Vault | Should -Be $vault
        $registration.Registered | Should -BeOfType [datetime]
        $registration.PSObject.Properties.Name | Should -Not -Contain 'PassphraseFile'
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -BeLike '*passphrase*safe place*cannot be recovered*'
        Join-Path $homePath "registrations/$($registration.VaultId).json" | Should -Exist
        $me = Get-AzBackupServer | Where-Object ThisServer
        $me.ServerId | Should -Be $registration.ServerId
        $me.ProofValid | Should -BeTrue
        # The passphrase opens the new namespace (no recovery points yet).
        Get-AzRecoveryPoint -Passphrase $passphrase -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'generates a passphrase into a new owner-only file, and never outputs it' {
        $file = Join-Path $homePath 'generated-passphrase.txt'
        $out = Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password `
            -GeneratePassphrase -PassphraseOutFile $file -WarningVariable warnings -WarningAction SilentlyContinue -Verbose 4>&1
        $registration = $out | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.Registration' }
        $registration.PassphraseFile | Should -Be $file
        $generated = (Get-Content -LiteralPath $file -Raw).Trim()
        $generated | Should -Match '^([A-HJ-NP-Z2-9]{5}-){5}[A-HJ-NP-Z2-9]{5}$'
        if (-not $IsWindows) { [int](Get-Item -LiteralPath $file).UnixFileMode | Should -Be ([Convert]::ToInt32('600', 8)) }
        "$warnings" | Should -BeLike "*$file*"
        ($out | Out-String) + "$warnings" | Should -Not -BeLike "*$generated*"
        Get-AzRecoveryPoint -Passphrase (New-TestSecureString $generated) -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'takes the passphrase from $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $env:AZBACKUP_PASSPHRASE = $passphraseText
        try {
            $registration = Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password -WarningAction SilentlyContinue
        } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $registration.ServerId | Should -Match '^[0-9a-f]{64}$'
        Get-AzRecoveryPoint -Passphrase $passphrase -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'binds the certificate by property name from New-AzBackupCertificate (PrivateKeyPath)' {
        $registration = $cert | Register-AzBackupServer -Vault $vault -CertificatePassword $password -Passphrase $passphrase -WarningAction SilentlyContinue
        $registration.Certificate | Should -Be $cert.Thumbprint
    }

    It 'registers nothing with -WhatIf' {
        $before = Get-ServerCount
        Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password -Passphrase $passphrase -WhatIf |
            Should -BeNullOrEmpty
        Get-ServerCount | Should -Be $before
        Join-Path $homePath 'registrations' | Should -Not -Exist
    }

    It 'refuses <Case> with <Code> and writes nothing to the vault' -ForEach @(
        @{ Case = 'a passphrase under 16 characters'; Code = 'AZB_PASSPHRASE_TOO_SHORT'; Change = { @{ Passphrase = (New-TestSecureString 'fifteen-chars15') } } }
        @{ Case = 'no passphrase at all'; Code = 'AZB_PASSPHRASE_REQUIRED'; Change = { @{} } }
        @{ Case = 'a certificate not uploaded to the vault'; Code = 'AZB_CERT_NOT_IN_VAULT'; Change = { @{ Certificate = $notUploaded.PrivateKeyPath } } }
        @{ Case = 'a wrong certificate password'; Code = 'AZB_CERT_PASSWORD_WRONG'; Change = { @{ CertificatePassword = (New-TestSecureString 'wrong-password') } } }
        @{ Case = 'a .cer without the private key'; Code = 'AZB_CERT_PRIVATE_KEY_REQUIRED'; Change = { @{ Certificate = $cert.CertificatePath; CertificatePassword = $null } } }
        @{ Case = 'a missing vault folder'; Code = 'AZB_VAULT_NOT_FOUND'; Change = { @{ Vault = (Join-Path $root 'no-vault') } } }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; Change = { @{ Vault = $root } } }
    ) {
        $params = @{ Vault = $vault; Certificate = $cert.PrivateKeyPath; CertificatePassword = $password; Passphrase = $passphrase; ErrorAction = 'Stop' }
        $extra = & $Change
        if (-not $extra.Count) { $params.Remove('Passphrase') }
        foreach ($key in $extra.Keys) { if ($null -eq $extra[$key]) { $params.Remove($key) } else { $params[$key] = $extra[$key] } }
        $before = Get-ServerCount
        $err = { Register-AzBackupServer @params } | Should -Throw -ErrorId "$Code,Register-AzBackupServer" -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Get-ServerCount | Should -Be $before
        Join-Path $homePath 'registrations' | Should -Not -Exist
    }

    It 'changes nothing when registered again with the same input, and refuses a second registration that differs' {
        $first = Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password -Passphrase $passphrase -WarningAction SilentlyContinue
        $first.Changed | Should -BeTrue
        $before = Get-ServerCount
        $again = Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password -Passphrase $passphrase -ErrorAction Stop
        $again.Changed | Should -BeFalse
        $again.ServerId | Should -Be $first.ServerId
        { Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password -Passphrase $passphrase -HostName 'other-name' -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_SERVER_ALREADY_REGISTERED,Register-AzBackupServer'
        Get-ServerCount | Should -Be $before
    }

    It 'never replaces an existing passphrase file' {
        $file = Join-Path $homePath 'existing.txt'
        Set-Content -LiteralPath $file -Value 'keep me'
        { Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -CertificatePassword $password -GeneratePassphrase -PassphraseOutFile $file -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_FILE_EXISTS,Register-AzBackupServer'
        (Get-Content -LiteralPath $file -Raw).Trim() | Should -Be 'keep me'
    }

    It 'does not accept -Passphrase together with -GeneratePassphrase' {
        { Register-AzBackupServer -Vault $vault -Certificate $cert.PrivateKeyPath -Passphrase $passphrase -GeneratePassphrase -PassphraseOutFile (Join-Path $homePath 'x.txt') -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Register-AzBackupServer'
    }
}
