BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'rmcert-srv'
    $script:password = New-TestSecureString
    $script:unused = New-AzBackupCertificate -Subject 'CN=unused01' -OutputDirectory $root -PfxPassword $password
    $null = $unused | Add-AzBackupVaultCertificate -Vault $srv.Vault
    function script:Get-Thumbprints { @(Get-AzBackupVaultCertificate -Vault $srv.Vault).Thumbprint | Sort-Object }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Remove-AzBackupVaultCertificate' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home }

    It 'removes nothing with -WhatIf' {
        $before = Get-Thumbprints
        Remove-AzBackupVaultCertificate -Thumbprint $unused.Thumbprint -Vault $srv.Vault -WhatIf | Should -BeNullOrEmpty
        Get-Thumbprints | Should -Be $before
    }

    It 'refuses the certificate a server is registered with (AZB_CERT_IN_USE), naming the server' {
        $err = { Remove-AzBackupVaultCertificate -Thumbprint $srv.Registration.Certificate -Vault $srv.Vault -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_CERT_IN_USE,Remove-AzBackupVaultCertificate' -PassThru
        $err.Exception.Message | Should -Match 'rmcert-srv'
        Get-Thumbprints | Should -Contain $srv.Registration.Certificate
    }

    It 'removes an unused certificate piped from Get-AzBackupVaultCertificate, and says what it removed with -PassThru' {
        $removed = Get-AzBackupVaultCertificate -Vault $srv.Vault | Where-Object Thumbprint -EQ $unused.Thumbprint |
            Remove-AzBackupVaultCertificate -Confirm:$false -PassThru
        $removed.PSObject.TypeNames[0] | Should -Be 'AzBackup.VaultCertificate'
        $removed.Thumbprint | Should -Be $unused.Thumbprint
        $removed.Removed | Should -BeTrue
        Get-Thumbprints | Should -Not -Contain $unused.Thumbprint
        # The server's own backups go on.
        $data = New-TestDataTree -Path (Join-Path $root 'data')
        (Start-AzBackup -Path $data -Passphrase $srv.Passphrase).PointId | Should -Not -BeNullOrEmpty
    }

    It 'refuses <Case> with <ErrorId>' -ForEach @(
        @{ Case = 'a certificate that is not in the vault'; Thumbprint = ('AB' * 20); ErrorId = 'AZB_CERT_NOT_IN_VAULT,Remove-AzBackupVaultCertificate' }
        @{ Case = 'a thumbprint that is not 40 hex digits'; Thumbprint = 'not-a-thumbprint'; ErrorId = 'ParameterArgumentValidationError,Remove-AzBackupVaultCertificate' }
    ) {
        { Remove-AzBackupVaultCertificate -Thumbprint $Thumbprint -Vault $srv.Vault -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId $ErrorId
    }
}
