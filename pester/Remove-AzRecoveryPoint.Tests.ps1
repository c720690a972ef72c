BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'forget-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:points = 1..4 | ForEach-Object {
        Set-Content -LiteralPath (Join-Path $data 'a.txt') -Value "version $_"
        Start-AzBackup -Path $data -Passphrase $pp -Tag "v$_"
    }

    function script:Get-PointId { @(Get-AzRecoveryPoint -Passphrase $pp -ErrorAction Stop).PointId }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Remove-AzRecoveryPoint' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'removes nothing with -WhatIf' {
        $points[0] | Remove-AzRecoveryPoint -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        Get-PointId | Should -Be $points.PointId
    }

    It 'removes the points piped in from Get-AzRecoveryPoint, and outputs nothing' {
        $out = Get-AzRecoveryPoint -Tag 'v1' -Passphrase $pp | Remove-AzRecoveryPoint -Passphrase $pp -Confirm:$false
        $out | Should -BeNullOrEmpty
        Get-PointId | Should -Be $points[1..3].PointId
        # Soft-deleted: listed with -Deleted until -Permanent deletes it for good.
        @(Get-AzRecoveryPoint -Deleted -Passphrase $pp).PointId | Should -Be $points[0].PointId
        $gone = Remove-AzRecoveryPoint -PointId $points[0].PointId -Permanent -Passphrase $pp -Confirm:$false -PassThru
        $gone.Permanent | Should -BeTrue
        $gone.PurgeAfter | Should -BeNullOrEmpty
        Get-AzRecoveryPoint -Deleted -Passphrase $pp | Should -BeNullOrEmpty
    }

    It 'returns what it removed with -PassThru, until when it can be brought back, and accepts an ID prefix' {
        $removed = Remove-AzRecoveryPoint -PointId $points[1].PointId.Substring(0, 12) -Passphrase $pp -Confirm:$false -PassThru
        $removed.PSObject.TypeNames[0] | Should -Be 'AzBackup.RemovedRecoveryPoint'
        $removed.PointId | Should -Be $points[1].PointId
        $removed.Hostname | Should -Be 'forget-srv'
        $removed.Time | Should -Be $points[1].Time
        $removed.PurgeAfter | Should -BeOfType [datetime]
        ($removed.PurgeAfter - (Get-Date).ToUniversalTime()).TotalDays | Should -BeGreaterThan 13.9
        Get-PointId | Should -Be $points[2..3].PointId
    }

    It 'says in -WhatIf whether the removal can be undone' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try {
            $said = Invoke-TestChildPwsh "Remove-AzRecoveryPoint -PointId $($points[3].PointId) -WhatIf; Remove-AzRecoveryPoint -PointId $($points[3].PointId) -Permanent -WhatIf"
        } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $said | Should -Match 'What if: .*Remove \(recoverable for 14 days with Restore-AzRecoveryPoint\)'
        $said | Should -Match 'What if: .*Remove permanently \(it cannot be brought back\)'
        Get-PointId | Should -Be $points[2..3].PointId
    }

    It 'keeps the other points restorable' {
        $target = Join-Path $root 'restore'
        $null = Start-AzRecovery -PointId $points[3].PointId -Target $target -Passphrase $pp
        Get-Content -LiteralPath (Join-Path $target "$data/a.txt") | Should -Be 'version 4'
    }

    It 'uses $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { Remove-AzRecoveryPoint -PointId $points[2].PointId -Confirm:$false } finally { $env:AZBACKUP_PASSPHRASE = $null }
        Get-PointId | Should -Be $points[3].PointId
    }

    It 'refuses <Case> with <Code> and removes nothing' -ForEach @(
        @{ Case = 'an unknown point'; Code = 'AZB_POINT_NOT_FOUND'; Change = { @{ PointId = 'deadbeef0000' } } }
        @{ Case = 'a point removed for good'; Code = 'AZB_POINT_NOT_FOUND'; Change = { @{ PointId = $points[0].PointId } } }
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'not the right passphrase') } } }
    ) {
        $params = @{ PointId = $points[3].PointId; Passphrase = $pp; Confirm = $false; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { $params[$key] = $extra[$key] }
        { Remove-AzRecoveryPoint @params } | Should -Throw -ErrorId "$Code,Remove-AzRecoveryPoint"
        Get-PointId | Should -Be $points[3].PointId
    }
}
