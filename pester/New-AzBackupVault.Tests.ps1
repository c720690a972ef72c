BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $null = New-TestHome -Root $root
    $script:azurite = Start-TestAzurite -Root $root
}
AfterAll {
    Stop-TestAzurite $script:azurite
    $env:AZBACKUP_STORAGE_CONNECTION_STRING = $null
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
        $vault.FormatVersion | Should -Be 2
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

    It 'creates a vault in an Azure Blob container with -StorageAccountUrl and -Container, and the cycle works there' {
        $env:AZBACKUP_STORAGE_CONNECTION_STRING = $azurite.ConnectionString
        try {
            $vault = New-AzBackupVault -StorageAccountUrl $azurite.Endpoint -Container 'pester-vault'
            $vault.Vault | Should -Be "$($azurite.Endpoint)/pester-vault"
            $srv = New-TestBackupServer -Root $root -Vault $vault.Vault -HostName 'azure-srv'
            $data = New-TestDataTree -Path (Join-Path $root 'azure-data')
            $point = Start-AzBackup -Path $data -Passphrase $srv.Passphrase
            $point.Vault | Should -Be $vault.Vault
            $target = Join-Path $root 'azure-restore'
            $null = $point | Start-AzRecovery -Target $target -Passphrase $srv.Passphrase
            foreach ($file in Get-ChildItem -LiteralPath $data -Recurse -File) {
                $restored = Join-Path $target ($file.FullName.TrimStart('/'))
                (Get-FileHash -LiteralPath $restored).Hash | Should -Be (Get-FileHash -LiteralPath $file.FullName).Hash
            }
            (Test-AzBackupVault -ReadData -Passphrase $srv.Passphrase | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzBackup.CheckResult' }).Problems | Should -Be 0
        } finally {
            $env:AZBACKUP_STORAGE_CONNECTION_STRING = $null
        }
    }

    It 'refuses an Azure vault without a credential, and a container name Azure would refuse' {
        $env:AZBACKUP_STORAGE_CONNECTION_STRING = $null
        { New-AzBackupVault -StorageAccountUrl $azurite.Endpoint -Container 'no-credential' -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_STORAGE_CREDENTIAL_REQUIRED,New-AzBackupVault'
        { New-AzBackupVault -StorageAccountUrl $azurite.Endpoint -Container 'Bad_Name' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,New-AzBackupVault'
    }
}
