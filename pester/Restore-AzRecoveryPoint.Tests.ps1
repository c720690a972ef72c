BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'undelete-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data') -Seed 4
    $script:hash = Get-TestTreeHash -Path $data
    $script:first = Start-AzBackup -Path $data -Passphrase $pp -Tag 'first'
    Set-Content -LiteralPath (Join-Path $data 'later.txt') -Value 'made after the first point'
    $script:second = Start-AzBackup -Path $data -Passphrase $pp -Tag 'second'
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Restore-AzRecoveryPoint' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'lists a removed point with Get-AzRecoveryPoint -Deleted: when, why, and until when it can come back' {
        Remove-AzRecoveryPoint -PointId $first.PointId -Passphrase $pp -Confirm:$false
        @(Get-AzRecoveryPoint -Passphrase $pp).PointId | Should -Be $second.PointId
        $deleted = @(Get-AzRecoveryPoint -Deleted -Passphrase $pp)
        $deleted.Count | Should -Be 1
        $deleted[0].PSObject.TypeNames[0] | Should -Be 'AzBackup.DeletedRecoveryPoint'
        $deleted[0].PSObject.TypeNames | Should -Contain 'AzBackup.RecoveryPoint'
        $deleted[0].PointId | Should -Be $first.PointId
        $deleted[0].DeletedAt | Should -BeOfType [datetime]
        ($deleted[0].PurgeAfter - $deleted[0].DeletedAt).TotalDays | Should -Be 14
        $deleted[0].DeleteReason | Should -Match '^removed by .+ on .+'
        $table = $deleted | Format-Table | Out-String -Width 200
        $table | Should -Match 'DeletedAt\s+PurgeAfter\s+DeleteReason'
    }

    It 'refuses to restore files from a deleted point, and says how to bring it back' {
        $err = { Start-AzRecovery -PointId $first.PointId -Target (Join-Path $root 'r0') -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_POINT_DELETED,Start-AzRecovery' -PassThru
        $err.Exception.Message | Should -Match 'can be brought back until'
        $err.ErrorDetails.RecommendedAction | Should -Match 'Restore-AzRecoveryPoint -PointId'
    }

    It 'says in Remove-AzBackupUnusedData -WhatIf that the deleted point''s data is kept' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $said = Invoke-TestChildPwsh 'Remove-AzBackupUnusedData -WhatIf' } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $said | Should -Match 'keep the data of 1 deleted point\(s\) that can still be brought back'
        $result = Remove-AzBackupUnusedData -Passphrase $pp -Confirm:$false
        $result.PointsRecoverable | Should -Be 1
        $result.PointsPurged | Should -Be 0
    }

    It 'brings nothing back with -WhatIf' {
        Get-AzRecoveryPoint -Deleted -Passphrase $pp | Restore-AzRecoveryPoint -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        @(Get-AzRecoveryPoint -Deleted -Passphrase $pp).PointId | Should -Be $first.PointId
    }

    It 'brings back the points piped from Get-AzRecoveryPoint -Deleted; their files restore identical' {
        $back = Get-AzRecoveryPoint -Deleted -Passphrase $pp | Restore-AzRecoveryPoint -Passphrase $pp
        $back.PSObject.TypeNames[0] | Should -Be 'AzBackup.RecoveryPoint'
        $back.PointId | Should -Be $first.PointId
        $back.RestoredAt | Should -BeOfType [datetime]
        @(Get-AzRecoveryPoint -Passphrase $pp).PointId | Should -Be @($first.PointId, $second.PointId)
        Get-AzRecoveryPoint -Deleted -Passphrase $pp | Should -BeNullOrEmpty
        $target = Join-Path $root 'r1'
        $null = Start-AzRecovery -PointId $first.PointId -Target $target -Passphrase $pp
        Get-TestTreeHash -Path (Join-Path $target $data) | Should -Be $hash
    }

    It 'returns a point that is not deleted unchanged' {
        $same = Restore-AzRecoveryPoint -PointId $second.PointId.Substring(0, 10) -Passphrase $pp
        $same.PointId | Should -Be $second.PointId
        $same.PSObject.Properties.Name | Should -Not -Contain 'RestoredAt'
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'an unknown point'; Code = 'AZB_POINT_NOT_FOUND'; Change = { @{ PointId = 'deadbeef0000' } } }
        @{ Case = 'a point removed for good'; Code = 'AZB_POINT_NOT_FOUND'; Change = {
                Remove-AzRecoveryPoint -PointId $second.PointId -Permanent -Passphrase $pp -Confirm:$false
                @{ PointId = $second.PointId } } }
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'not the right passphrase') } } }
    ) {
        $params = @{ PointId = $first.PointId; Passphrase = $pp; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { $params[$key] = $extra[$key] }
        { Restore-AzRecoveryPoint @params } | Should -Throw -ErrorId "$Code,Restore-AzRecoveryPoint"
    }
}
