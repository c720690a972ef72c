BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'certs-srv'
    $script:password = New-TestSecureString
    $script:extra = New-AzBackupCertificate -Subject 'CN=extra01' -OutputDirectory $root -PfxPassword $password
    $null = $extra | Add-AzBackupVaultCertificate -Vault $srv.Vault
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzBackupVaultCertificate' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home }

    It 'lists every uploaded certificate as a typed AzBackup.VaultCertificate' {
        $certs = @(Get-AzBackupVaultCertificate -Vault $srv.Vault)
        $certs.Count | Should -Be 2
        $certs | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.VaultCertificate' }
        ($certs.Thumbprint | Sort-Object) | Should -Be (@($srv.Certificate.Thumbprint, $extra.Thumbprint) | Sort-Object)
        ($certs | Where-Object Thumbprint -EQ $extra.Thumbprint).Subject | Should -Be 'CN=extra01'
        ($certs | Where-Object Thumbprint -EQ $extra.Thumbprint).NotAfter.Date | Should -Be $extra.NotAfter.Date
        $certs.Vault | Select-Object -Unique | Should -Be $srv.Vault
    }

    It 'uses the vault this server is registered with when -Vault is omitted' {
        @(Get-AzBackupVaultCertificate).Count | Should -Be 2
    }

    It 'takes the vault from the pipeline (output of New-AzBackupVault)' {
        $empty = New-AzBackupVault -Path (Join-Path $root 'empty-vault')
        $empty | Get-AzBackupVaultCertificate | Should -BeNullOrEmpty
    }

    It 'asks for the vault when this machine is registered with none' {
        $null = New-TestHome -Root $root
        { Get-AzBackupVaultCertificate -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_VAULT_REQUIRED,Get-AzBackupVaultCertificate'
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'a missing vault folder'; Code = 'AZB_VAULT_NOT_FOUND'; Folder = 'missing' }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; Folder = 'not-a-vault' }
    ) {
        $path = Join-Path $root $Folder
        if ($Folder -eq 'not-a-vault') { $null = New-Item -ItemType Directory -Path $path -Force }
        $err = { Get-AzBackupVaultCertificate -Vault $path -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Get-AzBackupVaultCertificate" -PassThru
        $err.TargetObject | Should -Be $path
    }
}
