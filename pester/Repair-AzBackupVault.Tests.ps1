BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'repair-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data') -Seed 7
    $script:point = Start-AzBackup -Path $data -Passphrase $pp
    # The source goes: what the damage takes cannot be stored again, so repair must rewrite the point.
    $script:keptHash = Get-TestTreeHash -Path $data
    Remove-Item -LiteralPath $data -Recurse -Force
    $script:pack = Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId | Select-Object -First 1
    Invoke-TestByteFlip -Path $pack.FullName -Offset 40 # inside the first blob: file data
    $script:check = @(Test-AzBackupVault -ReadData -Passphrase $pp -WarningAction SilentlyContinue)
    function script:Get-VaultListing { @(Get-ChildItem -LiteralPath $srv.Vault -Recurse -File | ForEach-Object { "$($_.FullName):$($_.Length)" } | Sort-Object) }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Repair-AzBackupVault' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'starts from a check that found and recorded the damage' {
        $check[-1].PSObject.TypeNames[0] | Should -Be 'AzBackup.CheckResult'
        $check[-1].Problems | Should -BeGreaterThan 0
        $check[-1].DamageRecorded | Should -Match '^[0-9a-f]{64}$'
    }

    It 'changes nothing with -WhatIf, and says what it would repair' {
        $before = Get-VaultListing
        Repair-AzBackupVault -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $said = (Invoke-TestChildPwsh 'Repair-AzBackupVault -WhatIf') -replace '\s+', ' ' } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $said | Should -Match 'What if: .*salvage 1 damaged pack\(s\).*rewrite 1 recovery point\(s\), marking [1-9][0-9]* file\(s\)'
        Get-VaultListing | Should -Be $before
    }

    It 'asks before it changes the vault (High impact), and changes nothing when told no' {
        $before = Get-VaultListing
        $env:AZBACKUP_PASSPHRASE = $srv.PassphraseText
        try { $no = (Invoke-TestChildPwsh 'Repair-AzBackupVault' -Answer 'N') -replace '\s+', ' ' } finally { $env:AZBACKUP_PASSPHRASE = $null }
        $no | Should -Match 'Are you sure you want to perform this action\?'
        $no | Should -Match 'Repair \(index, packs, points\)'
        Get-VaultListing | Should -Be $before
    }

    It 'repairs: each damaged file as an AzBackup.RepairedFile, then the AzBackup.RepairResult, with warning AZB_REPAIR_DATA_LOST' {
        $out = @(Repair-AzBackupVault -Passphrase $pp -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue)
        $result = $out[-1]
        $result.PSObject.TypeNames[0] | Should -Be 'AzBackup.RepairResult'
        $result.Parts | Should -Be @('index', 'packs', 'points')
        $result.PointsRepaired | Should -Be 1
        $result.FilesDamaged | Should -BeGreaterThan 0
        $result.BytesLostText | Should -Match '(B|KiB|MiB)$'
        $files = @($out | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzBackup.RepairedFile' })
        $files.Count | Should -Be $result.FilesDamaged
        $files[0].Path | Should -BeLike "$data/*"
        ($warned | Out-String) | Should -Match 'AZB_REPAIR_DATA_LOST|marked'
        (Get-AzBackupJob -Previous 1).Operation | Should -Be 'Repair'
    }

    It 'leaves a vault the check calls healthy, and a point whose damaged files restore named in a warning' {
        (Test-AzBackupVault -ReadData -Passphrase $pp).Problems | Should -Be 0
        $latest = Get-AzRecoveryPoint -Passphrase $pp | Select-Object -Last 1
        $latest.Tags | Should -Contain 'repaired'
        $target = Join-Path $root 'restore'
        $null = Start-AzRecovery -PointId $latest.PointId -Target $target -Passphrase $pp -WarningVariable restoreWarnings -WarningAction SilentlyContinue
        ($restoreWarnings | Out-String) | Should -Match 'lost data to vault damage'
        Get-TestTreeHash -Path (Join-Path $target $data) | Should -Not -Be $keptHash
        Test-Path -LiteralPath (Join-Path $target "$data/a.txt") | Should -BeTrue
    }

    It 'finds nothing more to repair the second time' {
        $again = Repair-AzBackupVault -Passphrase $pp -Confirm:$false
        $again.PacksRepaired | Should -Be 0
        $again.PointsRepaired | Should -Be 0
    }

    It 'repairs only what -Index names' {
        $result = Repair-AzBackupVault -Index -Passphrase $pp -Confirm:$false
        $result.Parts | Should -Be @('index')
        $result.PacksIndexed | Should -Be @(Get-TestPackFile -Vault $srv.Vault -ServerId $srv.ServerId).Count
    }

    It 'refuses a wrong passphrase with its error ID' {
        { Repair-AzBackupVault -Passphrase (New-TestSecureString 'not the right passphrase') -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Repair-AzBackupVault'
    }
}
