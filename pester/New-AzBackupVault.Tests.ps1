BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $null = New-TestHome -Root $root
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'New-AzBackupVault' {
    It 'creates the vault folder with its manifest and returns a typed AzBackup.Vault' {
        $path = Join-Path $root 'vault1/nested'
        $vault = New-AzBackupVault -Path $path
        $vault.PSObject.TypeNames[0] | Should -Be 'AzBackup.Vault'
        $vault.VaultId | Should -Match '^[0-9a-f]{32}$'
        $vault.Vault | Should -Be $path
        $vault.FormatVersion | Should -Be 1
        $vault.Created | Should -BeOfType [datetime]
        $manifest = Get-Content -LiteralPath (Join-Path $path 'vault.json') -Raw | ConvertFrom-Json
        $manifest.vaultId | Should -Be $vault.VaultId
    }

    It 'gives a vault that the other cmdlets open (no certificates, no servers yet)' {
        $vault = New-AzBackupVault -Path (Join-Path $root 'vault2')
        Get-AzBackupVaultCertificate -Vault $vault.Vault | Should -BeNullOrEmpty
        Get-AzBackupServer -Vault $vault.Vault | Should -BeNullOrEmpty
    }

    It 'resolves a relative path against the current PowerShell location' {
        Push-Location $root
        try {
            (New-AzBackupVault -Path 'relative-vault').Vault | Should -Be (Join-Path $root 'relative-vault')
        } finally { Pop-Location }
        Join-Path $root 'relative-vault/vault.json' | Should -Exist
    }

    It 'creates nothing with -WhatIf' {
        $path = Join-Path $root 'whatif-vault'
        New-AzBackupVault -Path $path -WhatIf | Should -BeNullOrEmpty
        $path | Should -Not -Exist
    }

    It 'refuses a location that already holds a vault and leaves it as it was' {
        $vault = New-AzBackupVault -Path (Join-Path $root 'vault3')
        $before = Get-FileHash -LiteralPath (Join-Path $vault.Vault 'vault.json')
        $err = { New-AzBackupVault -Path $vault.Vault -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_VAULT_EXISTS,New-AzBackupVault' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ResourceExists'
        (Get-FileHash -LiteralPath (Join-Path $vault.Vault 'vault.json')).Hash | Should -Be $before.Hash
    }

    It 'refuses a folder it cannot create' {
        $file = Join-Path $root 'a-file'
        Set-Content -LiteralPath $file -Value 'not a folder'
        $err = { New-AzBackupVault -Path "$file/vault" -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_VAULT_ACCESS_DENIED,New-AzBackupVault' -PassThru
        $err.TargetObject | Should -Be "$file/vault"
    }
}
