BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'servers-one'
    # A second machine (its own home) registered with the same vault.
    $script:srv2 = New-TestBackupServer -Root $root -Vault $srv.Vault -HostName 'servers-two'
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzBackupServer' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home }

    It 'lists every registered server as a typed AzBackup.Server with a valid proof' {
        $servers = @(Get-AzBackupServer -Vault $srv.Vault)
        $servers.Count | Should -Be 2
        $servers | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.Server' }
        ($servers.Hostname | Sort-Object) | Should -Be @('servers-one', 'servers-two')
        $servers.ProofValid | Should -Not -Contain $false
        $one = $servers | Where-Object Hostname -EQ 'servers-one'
        $one.ServerId | Should -Be $srv.ServerId
        $one.Certificate | Should -Be $srv.Certificate.Thumbprint
        $one.Created | Should -BeOfType [datetime]
        $one.Vault | Should -Be $srv.Vault
    }

    It 'marks this machine''s own server with ThisServer' {
        (Get-AzBackupServer | Where-Object ThisServer).ServerId | Should -Be $srv.ServerId
        $env:AZBACKUP_HOME = $srv2.Home
        (Get-AzBackupServer | Where-Object ThisServer).ServerId | Should -Be $srv2.ServerId
    }

    It 'lists no server of this machine in a vault it is not registered with' {
        $null = New-TestHome -Root $root
        Get-AzBackupServer -Vault $srv.Vault | Where-Object ThisServer | Should -BeNullOrEmpty
        { Get-AzBackupServer -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_VAULT_REQUIRED,Get-AzBackupServer'
    }

    It 'reports a registration whose proof no longer verifies' {
        $vault = New-AzBackupVault -Path (Join-Path $root 'tamper-vault')
        $tampered = New-TestBackupServer -Root $root -Vault $vault.Vault -HostName 'tampered'
        $record = Join-Path $vault.Vault "servers/$($tampered.ServerId)/server.json"
        $data = Get-Content -LiteralPath $record -Raw | ConvertFrom-Json
        $data.proof.challenge = [Convert]::ToBase64String([byte[]]::new(32))
        Set-Content -LiteralPath $record -Value ($data | ConvertTo-Json -Depth 8)
        $server = Get-AzBackupServer -Vault $vault.Vault
        $server.ServerId | Should -Be $tampered.ServerId
        $server.ProofValid | Should -BeFalse
    }

    It 'refuses a folder that is not a vault' {
        $path = (New-Item -ItemType Directory -Path (Join-Path $root 'plain') -Force).FullName
        { Get-AzBackupServer -Vault $path -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_VAULT_NOT_A_VAULT,Get-AzBackupServer'
    }

    It 'binds by property name to the cmdlets that take -Vault and -Server' {
        $me = Get-AzBackupServer -Vault $srv.Vault | Where-Object ThisServer
        $data = New-TestDataTree -Path (Join-Path $root 'bind-data')
        $point = Start-AzBackup -Path $data -Passphrase $srv.Passphrase
        ($me | Get-AzRecoveryPoint -Passphrase $srv.Passphrase).PointId | Should -Contain $point.PointId
        $checked = $me | Test-AzBackupVault -Passphrase $srv.Passphrase
        ($checked | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzBackup.CheckResult' }).Problems | Should -Be 0
        $pruned = $me | Remove-AzBackupUnusedData -Passphrase $srv.Passphrase -Confirm:$false
        $pruned.PSObject.TypeNames[0] | Should -Be 'AzBackup.PruneResult'
        # The other machine's server, by its ID from the pipeline, with its own passphrase.
        $other = Get-AzBackupServer -Vault $srv.Vault | Where-Object Hostname -EQ 'servers-two'
        @($other | Get-AzRecoveryPoint -Passphrase $srv2.Passphrase).Count | Should -Be 0
    }
}
