BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $null = New-TestHome -Root $root
    $script:password = New-TestSecureString
    $script:vault = (New-AzBackupVault -Path (Join-Path $root 'vault')).Vault
    $script:cert = New-AzBackupCertificate -Subject 'CN=upload01' -OutputDirectory $root -PfxPassword $password
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Add-AzBackupVaultCertificate' {
    It 'uploads the public certificate, byte for byte, and returns a typed AzBackup.VaultCertificate' {
        $uploaded = Add-AzBackupVaultCertificate -Vault $vault -Path $cert.CertificatePath
        $uploaded.PSObject.TypeNames[0] | Should -Be 'AzBackup.VaultCertificate'
        $uploaded.Thumbprint | Should -Be $cert.Thumbprint
        $uploaded.Subject | Should -Be 'CN=upload01'
        $uploaded.KeySize | Should -Be 2048
        $uploaded.NotAfter | Should -BeOfType [datetime]
        $uploaded.Vault | Should -Be $vault
        $uploaded.Uploaded | Should -BeTrue
        $stored = Join-Path $vault "certificates/$($cert.Thumbprint).cer"
        (Get-FileHash -LiteralPath $stored).Hash | Should -Be (Get-FileHash -LiteralPath $cert.CertificatePath).Hash
    }

    It 'changes nothing when the certificate is already there (Uploaded = $false)' {
        $again = Add-AzBackupVaultCertificate -Vault $vault -Path $cert.CertificatePath
        $again.Uploaded | Should -BeFalse
        @(Get-ChildItem -LiteralPath (Join-Path $vault 'certificates')).Count | Should -Be 1
    }

    It 'takes the output of New-AzBackupCertificate and Get-ChildItem from the pipeline' {
        $dir = Join-Path $root 'piped'
        $null = New-Item -ItemType Directory -Path $dir
        $new = New-AzBackupCertificate -Subject 'CN=piped01' -OutputDirectory $dir -PfxPassword $password
        ($new | Add-AzBackupVaultCertificate -Vault $vault).Thumbprint | Should -Be $new.Thumbprint
        $other = New-AzBackupCertificate -Subject 'CN=piped02' -OutputDirectory $dir -PfxPassword $password
        $results = Get-ChildItem -LiteralPath $dir -Filter '*.cer' | Add-AzBackupVaultCertificate -Vault $vault
        ($results | Where-Object Thumbprint -EQ $other.Thumbprint).Uploaded | Should -BeTrue
        ($results | Where-Object Thumbprint -EQ $new.Thumbprint).Uploaded | Should -BeFalse
    }

    It 'uploads only the public part of a .pfx' {
        $dir = Join-Path $root 'pfx'
        $null = New-Item -ItemType Directory -Path $dir
        $new = New-AzBackupCertificate -Subject 'CN=frompfx' -OutputDirectory $dir -PfxPassword $password
        (Add-AzBackupVaultCertificate -Vault $vault -Path $new.PrivateKeyPath -Password $password).Thumbprint | Should -Be $new.Thumbprint
        $stored = Join-Path $vault "certificates/$($new.Thumbprint).cer"
        (Get-FileHash -LiteralPath $stored).Hash | Should -Be (Get-FileHash -LiteralPath $new.CertificatePath).Hash
        [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($stored).HasPrivateKey | Should -BeFalse
    }

    It 'uploads nothing with -WhatIf' {
        $new = New-AzBackupCertificate -Subject 'CN=whatif01' -OutputDirectory $root -PfxPassword $password
        $new | Add-AzBackupVaultCertificate -Vault $vault -WhatIf | Should -BeNullOrEmpty
        (Get-AzBackupVaultCertificate -Vault $vault).Thumbprint | Should -Not -Contain $new.Thumbprint
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'a missing vault folder'; Code = 'AZB_VAULT_NOT_FOUND'; MakeVault = { Join-Path $root 'no-such-vault' }; MakePath = { $cert.CertificatePath } }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; MakeVault = { (New-Item -ItemType Directory -Path (Join-Path $root 'plain') -Force).FullName }; MakePath = { $cert.CertificatePath } }
        @{ Case = 'a missing certificate file'; Code = 'AZB_FILE_NOT_FOUND'; MakeVault = { $vault }; MakePath = { Join-Path $root 'absent.cer' } }
        @{ Case = 'a 1024-bit certificate'; Code = 'AZB_CERT_NOT_COMPLIANT'; MakeVault = { $vault }; MakePath = { New-TestCertificateFile -Path (Join-Path $root 'weak.cer') -KeySize 1024 } }
        @{ Case = 'a certificate without the Client Authentication EKU'; Code = 'AZB_CERT_NOT_COMPLIANT'; MakeVault = { $vault }; MakePath = { New-TestCertificateFile -Path (Join-Path $root 'noeku.cer') -NoEku } }
    ) {
        $count = @(Get-AzBackupVaultCertificate -Vault $vault).Count
        $vaultPath = & $MakeVault
        $certPath = & $MakePath
        $err = { Add-AzBackupVaultCertificate -Vault $vaultPath -Path $certPath -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Add-AzBackupVaultCertificate" -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        @(Get-AzBackupVaultCertificate -Vault $vault).Count | Should -Be $count
    }

    It 'reports an error per bad file and uploads the others from the pipeline' {
        $new = New-AzBackupCertificate -Subject 'CN=mixed01' -OutputDirectory $root -PfxPassword $password
        $results = @((Join-Path $root 'absent2.cer'), $new.CertificatePath) |
            Add-AzBackupVaultCertificate -Vault $vault -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'AZB_FILE_NOT_FOUND,Add-AzBackupVaultCertificate'
        $results.Thumbprint | Should -Be $new.Thumbprint
    }
}
