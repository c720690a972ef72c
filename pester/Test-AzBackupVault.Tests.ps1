BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'check-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:point = Start-AzBackup -Path $data -Passphrase $pp

    function script:Split-CheckOutput($Output) {
        @{
            Problems = @($Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzBackup.CheckProblem' })
            Result   = @($Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzBackup.CheckResult' })
        }
    }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Test-AzBackupVault' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'checks the structure of a healthy vault: one typed AzBackup.CheckResult with no problems' {
        $out = @(Test-AzBackupVault -Passphrase $pp -ErrorVariable errs)
        $out.Count | Should -Be 1
        $result = $out[0]
        $result.PSObject.TypeNames[0] | Should -Be 'AzBackup.CheckResult'
        $result.ServerId | Should -Be $srv.ServerId
        $result.Problems | Should -Be 0
        $result.Points | Should -Be 1
        $result.Packs | Should -BeGreaterThan 0
        $result.PacksRead | Should -Be 0
        $result.ReadDataPercent | Should -Be 0
        $result.Vault | Should -Be $srv.Vault
        $errs.Count | Should -Be 0
    }

    It 'reads every pack of a healthy vault with -ReadData and finds no problem' {
        $result = Test-AzBackupVault -ReadData -Passphrase $pp
        $result.Problems | Should -Be 0
        $result.ReadDataPercent | Should -Be 100
        $result.PacksRead | Should -Be $result.Packs
        $result.PacksRead | Should -Be @(Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId).Count
        $result.BytesRead | Should -Be (Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId | Measure-Object Length -Sum).Sum
    }

    It 'reads a share of the packs with -ReadDataPercent' {
        $result = Test-AzBackupVault -ReadDataPercent 50 -Passphrase $pp
        $result.ReadDataPercent | Should -Be 50
        $result.Problems | Should -Be 0
    }

    It 'uses $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { (Test-AzBackupVault).Problems | Should -Be 0 } finally { $env:AZBACKUP_PASSPHRASE = $null }
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'not the right passphrase') } } }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; Change = { @{ Vault = $data } } }
        @{ Case = 'a missing vault'; Code = 'AZB_VAULT_NOT_FOUND'; Change = { @{ Vault = (Join-Path $root 'no-vault') } } }
    ) {
        $params = @{ Passphrase = $pp; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { $params[$key] = $extra[$key] }
        { Test-AzBackupVault @params } | Should -Throw -ErrorId "$Code,Test-AzBackupVault"
    }

    It 'finds one flipped byte in a pack with -ReadData: a CheckProblem naming the pack, then the CheckResult' {
        $pack = Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId | Select-Object -First 1
        Invoke-TestByteFlip -Path $pack.FullName -Offset ([int]($pack.Length / 2))
        $expectedObject = $pack.FullName.Substring($srv.Vault.Length).TrimStart('/')
        $expectedObject | Should -Match '^servers/[0-9a-f]{64}/packs/[0-9a-f]{2}/[0-9a-f]{64}$'

        $out = @(Test-AzBackupVault -ReadData -Passphrase $pp -ErrorVariable errs)
        $errs.Count | Should -Be 0
        $parts = Split-CheckOutput $out
        $parts.Problems.Count | Should -Be 1
        $parts.Result.Count | Should -Be 1
        $out[-1].PSObject.TypeNames[0] | Should -Be 'AzBackup.CheckResult'
        $problem = $parts.Problems[0]
        $problem.Object | Should -Be $expectedObject
        $problem.Problem | Should -Not -BeNullOrEmpty
        $problem.AffectedPoints | Should -Be @($point.PointId)
        $problem.AffectedFiles | Should -Not -BeNullOrEmpty
        foreach ($file in $problem.AffectedFiles) { $file | Should -BeLike "$data/*" }
        $parts.Result[0].Problems | Should -Be 1
    }

    It 'records the check that found damage as a job with warnings, naming the damaged object' {
        $job = Get-AzBackupJob -Previous 1
        $job.Operation | Should -Be 'Check'
        $job.Status | Should -Be 'CompletedWithWarnings'
        $job.Stats.Problems | Should -Be 1
        $job.WarningList[0].code | Should -Be 'AZB_VAULT_DAMAGED'
        $job.WarningList[0].target | Should -Match '^servers/[0-9a-f]{64}/packs/[0-9a-f]{2}/[0-9a-f]{64}$'
    }
}
