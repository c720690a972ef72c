BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    # A second machine backs up into the same vault, with its own passphrase.
    $script:other = New-TestBackupServer -Root $root -HostName 'points-other'
    $null = New-TestDataTree -Path (Join-Path $root 'other-data') -Seed 9
    $script:otherPoint = Start-AzBackup -Path (Join-Path $root 'other-data') -Passphrase $other.Passphrase
    $script:srv = New-TestBackupServer -Root $root -Vault $other.Vault -HostName 'points-srv'
    $script:pp = $srv.Passphrase
    $script:data1 = New-TestDataTree -Path (Join-Path $root 'data1') -Seed 1
    $script:data2 = New-TestDataTree -Path (Join-Path $root 'data2') -Seed 2
    $script:p1 = Start-AzBackup -Path $data1 -Passphrase $pp -Tag 'daily'
    Start-Sleep -Milliseconds 50
    $script:p2 = Start-AzBackup -Path $data2 -Passphrase $pp -Tag 'weekly'
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzRecoveryPoint' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'lists this server''s points, oldest first, as typed AzBackup.RecoveryPoint objects' {
        $points = @(Get-AzRecoveryPoint -Passphrase $pp)
        $points.PointId | Should -Be @($p1.PointId, $p2.PointId)
        $points | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.RecoveryPoint' }
        $points[0].Time | Should -BeOfType [datetime]
        $points[0].Time | Should -Be $p1.Time
        $points[0].Sources | Should -Be @($data1)
        $points[0].Tags | Should -Be @('daily')
        $points[0].FilesNew | Should -Be $p1.FilesNew
        $points[0].ServerId | Should -Be $srv.ServerId
        $points[0].Hostname | Should -Be 'points-srv'
        $points[0].Vault | Should -Be $srv.Vault
    }

    It 'filters by tag' {
        (Get-AzRecoveryPoint -Passphrase $pp -Tag 'weekly').PointId | Should -Be $p2.PointId
        Get-AzRecoveryPoint -Passphrase $pp -Tag 'monthly' | Should -BeNullOrEmpty
    }

    It 'filters by a path inside the sources, resolving a relative path' {
        (Get-AzRecoveryPoint -Passphrase $pp -Path (Join-Path $data1 'sub/b.bin')).PointId | Should -Be $p1.PointId
        Push-Location $data2
        try { (Get-AzRecoveryPoint -Passphrase $pp -Path 'sub').PointId | Should -Be $p2.PointId } finally { Pop-Location }
        Get-AzRecoveryPoint -Passphrase $pp -Path (Join-Path $root 'elsewhere') | Should -BeNullOrEmpty
        # The path is the first positional parameter: Get-AzRecoveryPoint /etc.
        (Get-AzRecoveryPoint (Join-Path $data1 'sub/b.bin') -Passphrase $pp).PointId | Should -Be $p1.PointId
    }

    It 'filters by time with -After and -Before (UTC or local DateTime)' {
        (Get-AzRecoveryPoint -Passphrase $pp -After $p2.Time).PointId | Should -Be $p2.PointId
        (Get-AzRecoveryPoint -Passphrase $pp -Before $p1.Time).PointId | Should -Be $p1.PointId
        (Get-AzRecoveryPoint -Passphrase $pp -After $p2.Time.ToLocalTime()).PointId | Should -Be $p2.PointId
        @(Get-AzRecoveryPoint -Passphrase $pp -After $p1.Time -Before $p2.Time).Count | Should -Be 2
        Get-AzRecoveryPoint -Passphrase $pp -After (Get-Date).AddMinutes(5) | Should -BeNullOrEmpty
    }

    It 'uses $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { @(Get-AzRecoveryPoint).Count | Should -Be 2 } finally { $env:AZBACKUP_PASSPHRASE = $null }
    }

    It 'lists another server''s points with -Server (host name or ID) and that server''s passphrase' {
        (Get-AzRecoveryPoint -Server 'points-other' -Passphrase $other.Passphrase).PointId | Should -Be $otherPoint.PointId
        (Get-AzRecoveryPoint -Server $other.ServerId -Passphrase $other.Passphrase).Hostname | Should -Be 'points-other'
        { Get-AzRecoveryPoint -Server 'points-other' -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Get-AzRecoveryPoint'
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'not the right passphrase') } } }
        @{ Case = 'no passphrase'; Code = 'AZB_PASSPHRASE_REQUIRED'; Change = { @{ Passphrase = $null } } }
        @{ Case = 'a missing vault'; Code = 'AZB_VAULT_NOT_FOUND'; Change = { @{ Vault = (Join-Path $root 'no-vault') } } }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; Change = { @{ Vault = $data1 } } }
        @{ Case = 'an unknown server'; Code = 'AZB_SERVER_NOT_FOUND'; Change = { @{ Server = 'no-such-server' } } }
    ) {
        $params = @{ Passphrase = $pp; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { if ($null -eq $extra[$key]) { $params.Remove($key) } else { $params[$key] = $extra[$key] } }
        $err = { Get-AzRecoveryPoint @params } | Should -Throw -ErrorId "$Code,Get-AzRecoveryPoint" -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'refuses a machine that is not registered with the vault' {
        $null = New-TestHome -Root $root
        { Get-AzRecoveryPoint -Vault $srv.Vault -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SERVER_NOT_REGISTERED,Get-AzRecoveryPoint'
        # With -Server it reads any server's points, given that server's passphrase.
        (Get-AzRecoveryPoint -Vault $srv.Vault -Server 'points-srv' -Passphrase $pp).PointId | Should -Be @($p1.PointId, $p2.PointId)
    }
}
