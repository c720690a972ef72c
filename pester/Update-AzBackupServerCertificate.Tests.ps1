BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'renew-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:before = 1..2 | ForEach-Object {
        Set-Content -LiteralPath (Join-Path $data 'a.txt') -Value "version $_"
        Start-AzBackup -Path $data -Passphrase $pp
    }
    $script:next = New-AzBackupCertificate -Subject 'CN=renew-srv-2027' -OutputDirectory (New-Item -ItemType Directory -Path (Join-Path $root 'next')).FullName -PfxPassword $srv.PfxPassword -ErrorAction Stop
    $null = $next | Add-AzBackupVaultCertificate -Vault $srv.Vault
    $script:oldThumbprint = $srv.Registration.Certificate
    function script:Get-ServerCertificate { (Get-AzBackupServer -Vault $srv.Vault | Where-Object ServerId -EQ $srv.ServerId).Certificate }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Update-AzBackupServerCertificate' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'changes nothing with -WhatIf, and says which certificate it would move to' {
        $next | Update-AzBackupServerCertificate -CertificatePassword $srv.PfxPassword -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        Get-ServerCertificate | Should -Be $oldThumbprint
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $said = (Invoke-TestChildPwsh "Update-AzBackupServerCertificate -Certificate '$($next.PrivateKeyPath)' -WhatIf") -replace '\s+', ' ' } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $said | Should -Match ([regex]::Escape("What if: Performing the operation `"Sign from now on with the certificate in $($next.PrivateKeyPath)"))
        Get-ServerCertificate | Should -Be $oldThumbprint
    }

    It 'refuses <Case> with <Code> and keeps the old certificate' -ForEach @(
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Params = { @{ Certificate = $next.PrivateKeyPath; CertificatePassword = $srv.PfxPassword; Passphrase = (New-TestSecureString 'not the passphrase at all, sorry') } } }
        @{ Case = 'a wrong certificate password'; Code = 'AZB_CERT_PASSWORD_WRONG'; Params = { @{ Certificate = $next.PrivateKeyPath; CertificatePassword = (New-TestSecureString 'wrong-password'); Passphrase = $pp } } }
        @{ Case = 'a certificate without its key'; Code = 'AZB_CERT_PRIVATE_KEY_REQUIRED'; Params = { @{ Certificate = $next.CertificatePath; Passphrase = $pp } } }
        @{ Case = 'the current certificate'; Code = 'AZB_ARGS_INVALID'; Params = { @{ Certificate = $srv.Certificate.PrivateKeyPath; CertificatePassword = $srv.PfxPassword; Passphrase = $pp } } }
        @{ Case = 'a certificate not uploaded'; Code = 'AZB_CERT_NOT_IN_VAULT'; Params = { $c = New-AzBackupCertificate -Subject 'CN=never-uploaded' -OutputDirectory $root -PfxPassword $srv.PfxPassword -ErrorAction Stop; @{ Certificate = $c.PrivateKeyPath; CertificatePassword = $srv.PfxPassword; Passphrase = $pp } } }
        @{ Case = 'a missing file'; Code = 'AZB_FILE_NOT_FOUND'; Params = { @{ Certificate = (Join-Path $root 'none.pfx'); Passphrase = $pp } } }
    ) {
        $params = & $Params
        { Update-AzBackupServerCertificate @params -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Update-AzBackupServerCertificate"
        Get-ServerCertificate | Should -Be $oldThumbprint
    }

    It 'moves the server to the new certificate from the pipeline; points stay, backups go on, and the old certificate can be removed' {
        $passphraseFile = Join-Path $root 'pp.txt'
        Set-Content -LiteralPath $passphraseFile -Value $srv.PassphraseText
        chmod 600 $passphraseFile
        $renewal = $next | Update-AzBackupServerCertificate -CertificatePassword $srv.PfxPassword -PassphraseFile $passphraseFile -Confirm:$false
        $renewal.PSObject.TypeNames[0] | Should -Be 'AzBackup.CertificateRenewal'
        $renewal.PreviousCertificate | Should -Be $oldThumbprint
        $renewal.Certificate | Should -Be $next.Thumbprint
        $renewal.PointsCarried | Should -Be 2
        $renewal.Renewed | Should -BeOfType [datetime]
        Get-ServerCertificate | Should -Be $next.Thumbprint

        Set-Content -LiteralPath (Join-Path $data 'a.txt') -Value 'version 3'
        $after = Start-AzBackup -Path $data -Passphrase $pp
        Remove-AzBackupVaultCertificate -Thumbprint $renewal.PreviousCertificate -Vault $srv.Vault -Confirm:$false -ErrorAction Stop
        @(Get-AzBackupVaultCertificate -Vault $srv.Vault).Thumbprint | Should -Not -Contain $oldThumbprint
        (Get-AzRecoveryPoint -Passphrase $pp).PointId | Should -Be @($before.PointId + $after.PointId)
        $target = Join-Path $root 'restored'
        $null = Start-AzRecovery -PointId $before[0].PointId -Target $target -Passphrase $pp
        Get-Content -LiteralPath (Join-Path $target "$data/a.txt") | Should -Be 'version 1'
        # The new certificate is now in use: it is the one that cannot be removed.
        { Remove-AzBackupVaultCertificate -Thumbprint $next.Thumbprint -Vault $srv.Vault -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_CERT_IN_USE,Remove-AzBackupVaultCertificate'
    }
}
