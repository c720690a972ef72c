BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    # Two servers in one vault: one never backed up, one whose server.json is then damaged.
    $script:srv = New-TestBackupServer -Root $root -HostName 'fleet-one'
    $script:broken = New-TestBackupServer -Root $root -Vault $srv.Vault -HostName 'fleet-two'
    Set-Content -LiteralPath (Join-Path $srv.Vault "servers/$($broken.ServerId)/server.json") -Value '{"serverId": 42}'
    # The report is read from a machine with no registration and no passphrase.
    $script:readerHome = New-TestHome -Root $root
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzBackupFleetReport' {
    BeforeEach {
        $env:AZBACKUP_HOME = $readerHome
        Remove-Item Env:AZBACKUP_PASSPHRASE -ErrorAction SilentlyContinue
    }

    It 'returns one typed AzBackup.FleetServer per server, worst first, and warns about the damaged record' {
        $rows = @(Get-AzBackupFleetReport -Vault $srv.Vault -WarningVariable warnings -WarningAction SilentlyContinue -ErrorAction Stop)
        $rows.Count | Should -Be 2
        $rows | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.FleetServer' }
        $rows[0].ServerId | Should -Be $broken.ServerId
        $rows[0].Status | Should -Be 'Critical'
        $rows[0].Codes | Should -Contain 'AZB_SERVER_RECORD_DAMAGED'
        $rows[0].Reason | Should -Match 'server\.json is damaged: its serverId is not the ID of its folder'
        $rows[0].Hostname | Should -BeNullOrEmpty
        # The other server still reports: registered just now, no point yet, so a warning, not critical.
        $rows[1].Hostname | Should -Be 'fleet-one'
        $rows[1].Status | Should -Be 'Warning'
        $rows[1].Codes | Should -Be @('AZB_BACKUP_NEVER')
        $rows[1].ProofValid | Should -BeTrue
        $rows[1].Registered | Should -BeOfType [datetime]
        $rows[1].Vault | Should -Be $srv.Vault
        @($warnings).Count | Should -Be 1
        "$($warnings[0])" | Should -Match $broken.ServerId
    }

    It 'shows the table view: status, host name (or the ID of a damaged record), never, stored size, reason' {
        $text = Get-AzBackupFleetReport -Vault $srv.Vault -WarningAction SilentlyContinue | Format-Table | Out-String -Width 200
        $text | Should -Match 'Status\s+Hostname\s+LastPoint\s+AgeHours\s+Points\s+Stored\s+Reason'
        $text | Should -Match "Critical\s+\($($broken.ServerId.Substring(0, 12))\)\s+never"
        $text | Should -Match 'Warning\s+fleet-one\s+never\s+0\s+0 B\s+No recovery point since it registered'
    }

    It '-Html writes the page (a relative path from the current location) and returns its FileInfo' {
        Push-Location $root
        try {
            $file = Get-AzBackupFleetReport -Vault $srv.Vault -MaxAgeHours 12 -Html 'fleet.html' -WarningAction SilentlyContinue -ErrorAction Stop
        } finally { Pop-Location }
        $file | Should -BeOfType [System.IO.FileInfo]
        $file.FullName | Should -Be (Join-Path $root 'fleet.html')
        $page = Get-Content -LiteralPath $file.FullName -Raw
        ([regex]::Matches($page, '<tr class="server ')).Count | Should -Be 2
        $page | Should -Match 'limit 12 h'
        $page | Should -Match 'fleet-one'
    }

    It 'refuses a bad limit and a folder that is not a vault with the engine''s error ids' {
        { Get-AzBackupFleetReport -Vault $srv.Vault -MaxAgeHours 0 -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ARGS_INVALID,Get-AzBackupFleetReport'
        $plain = (New-Item -ItemType Directory -Path (Join-Path $root 'plain') -Force).FullName
        { Get-AzBackupFleetReport -Vault $plain -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_VAULT_NOT_A_VAULT,Get-AzBackupFleetReport'
    }
}
