BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'prune-srv'
    $script:pp = $srv.Passphrase
    $script:old = New-TestDataTree -Path (Join-Path $root 'old') -Seed 1
    $script:kept = New-TestDataTree -Path (Join-Path $root 'kept') -Seed 2
    $script:oldPoint = Start-AzBackup -Path $old -Passphrase $pp
    $script:keptPoint = Start-AzBackup -Path $kept -Passphrase $pp
    $script:keptHash = Get-TestTreeHash -Path $kept

    function script:Get-PackNames { @(Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId | ForEach-Object FullName | Sort-Object) }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Remove-AzBackupUnusedData' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'deletes nothing with -WhatIf, and says how much it would delete' {
        Remove-AzRecoveryPoint -PointId $oldPoint.PointId -Permanent -Passphrase $pp -Confirm:$false
        $before = Get-PackNames
        Remove-AzBackupUnusedData -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        Get-PackNames | Should -Be $before
        # The "What if:" line goes to the host: read it from a child pwsh, as an admin would see it.
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $said = Invoke-TestChildPwsh 'Remove-AzBackupUnusedData -WhatIf' } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $said | Should -Match 'What if: .*Delete [1-9][0-9]* pack\(s\) \([0-9.]+ MiB\) that no recovery point needs, keep [1-9]'
        Get-PackNames | Should -Be $before
    }

    It 'deletes the data only removed points used, and returns a typed AzBackup.PruneResult' {
        $before = Get-PackNames
        $bytesBefore = (Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId | Measure-Object Length -Sum).Sum
        $result = Remove-AzBackupUnusedData -Passphrase $pp -Confirm:$false
        $result.PSObject.TypeNames[0] | Should -Be 'AzBackup.PruneResult'
        $result.Points | Should -Be 1
        $result.DryRun | Should -BeFalse
        $result.PacksDeleted | Should -BeGreaterThan 0
        $result.BytesFreed | Should -BeGreaterThan 1000000
        $result.Vault | Should -Be $srv.Vault
        $after = Get-PackNames
        $after.Count | Should -Be ($before.Count - $result.PacksDeleted)
        $after | Where-Object { $_ -notin $before } | Should -BeNullOrEmpty
        (Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId | Measure-Object Length -Sum).Sum | Should -BeLessThan $bytesBefore
    }

    It 'leaves the remaining point complete: the check reads every byte, the restore is identical' {
        (Test-AzBackupVault -ReadData -Passphrase $pp).Problems | Should -Be 0
        $target = Join-Path $root 'restore'
        $null = Start-AzRecovery -PointId $keptPoint.PointId -Target $target -Passphrase $pp
        Get-TestTreeHash -Path (Join-Path $target $kept) | Should -Be $keptHash
    }

    It 'finds nothing more to delete the second time' {
        $before = Get-PackNames
        $result = Remove-AzBackupUnusedData -Passphrase $pp -Confirm:$false
        $result.PacksDeleted | Should -Be 0
        $result.BytesFreed | Should -Be 0
        Get-PackNames | Should -Be $before
    }

    It 'records the prune as a Completed job' {
        $job = Get-AzBackupJob -Previous 1
        $job.Operation | Should -Be 'Prune'
        $job.Status | Should -Be 'Completed'
    }

    It 'uses $env:AZBACKUP_PASSPHRASE when -Passphrase is not given' {
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { (Remove-AzBackupUnusedData -Confirm:$false).Points | Should -Be 1 } finally { $env:AZBACKUP_PASSPHRASE = $null }
    }

    It 'refuses a wrong passphrase' {
        { Remove-AzBackupUnusedData -Passphrase (New-TestSecureString 'not the right passphrase') -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Remove-AzBackupUnusedData'
    }
}
