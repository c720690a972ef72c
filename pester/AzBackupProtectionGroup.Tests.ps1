# Protection groups from PowerShell against the real engine: two members on loopback (real sshd,
# Start-TestSshd), files from one (tar over SSH) and a dump command on the other, into the disk vault
# (a folder vault this server is registered with); restores to this server and onto a member, compared
# bit for bit; bad input refused with codes; -WhatIf and the pipeline. Online protection (Azurite) is
# in the last Describe. Schedules go to cron files in a temp folder (AZBACKUP_SCHEDULER=cron,
# AZBACKUP_UNIT_ROOT), not to the system.
BeforeDiscovery {
    # The -ForEach cases build a schedule object.
    Import-Module (Join-Path $PSScriptRoot '../module/AzBackup.psd1') -Force
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:savedBytesPerGB = $env:AZBACKUP_BYTES_PER_GB
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'protect01'
    $script:pp = $srv.Passphrase
    $script:units = Join-Path $root 'units'
    $env:AZBACKUP_UNIT_ROOT = $units
    $env:AZBACKUP_SCHEDULER = 'cron'

    $script:web = Start-TestSshd -Directory (Join-Path $root 'sshd-web')
    $script:db = Start-TestSshd -Directory (Join-Path $root 'sshd-db')
    $null = Add-AzBackupMember -Name web01 -ComputerName 127.0.0.1 -Port $web.Port -UserName root -IdentityFile $web.ClientKey -HostKeyFingerprint $web.Fingerprint
    $null = Add-AzBackupMember -Name db01 -ComputerName 127.0.0.1 -Port $db.Port -UserName root -IdentityFile $db.ClientKey -HostKeyFingerprint $db.Fingerprint

    # web01's files, and db01's "database": a dump command whose output is known byte for byte.
    $script:www = New-TestDataTree -Path (Join-Path $root 'www') -Seed 7
    $script:dumpFile = Join-Path $root 'shop.db'
    $bytes = [byte[]]::new(700000); [System.Random]::new(11).NextBytes($bytes)
    [System.IO.File]::WriteAllBytes($dumpFile, $bytes)
    $script:dumpHash = (Get-FileHash -LiteralPath $dumpFile).Hash
    $script:wwwSource = "web01:$www"

    function script:Select-Kind([object[]]$Objects, [string]$Kind) { @($Objects | Where-Object { $_.PSObject.TypeNames[0] -eq "AzBackup.$Kind" }) }
    function script:Get-RestoredTreeHash([string]$Target, [string]$Original) { Get-TestTreeHash -Path (Join-Path $Target $Original.TrimStart('/')) }
}
AfterAll {
    Stop-TestSshd $script:web
    Stop-TestSshd $script:db
    $env:AZBACKUP_BYTES_PER_GB = $script:savedBytesPerGB
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'A protection group with two members' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'is made on the disk vault as a typed AzBackup.ProtectionGroup, with the default objective and no online protection' {
        $group = New-AzBackupProtectionGroup -Name web -Vault $srv.Vault
        $group.PSObject.TypeNames[0] | Should -Be 'AzBackup.ProtectionGroup'
        $group.Name | Should -Be 'web'
        $group.Vault | Should -Be $srv.Vault
        $group.State | Should -Be 'Active'
        $group.ShortTerm.RetentionRangeDays | Should -Be 5
        $group.Online | Should -BeNullOrEmpty
        @($group.DataSources).Count | Should -Be 0
        Get-AzBackupProtectionGroup -Name web | ForEach-Object Name | Should -Be 'web'
    }

    It 'refuses a second group of the same name, an Azure vault for the disk, and makes nothing with -WhatIf' {
        { New-AzBackupProtectionGroup -Name web -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_GROUP_EXISTS,New-AzBackupProtectionGroup'
        { New-AzBackupProtectionGroup -Name cloud -Vault 'https://contoso.blob.core.windows.net/backup' -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_GROUP_VAULT_NOT_DISK,New-AzBackupProtectionGroup'
        New-AzBackupProtectionGroup -Name maybe -WhatIf | Should -BeNullOrEmpty
        { Get-AzBackupProtectionGroup -Name maybe -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_GROUP_NOT_FOUND,Get-AzBackupProtectionGroup'
    }

    It 'takes a files data source and, from the pipeline, a dump command data source' {
        $files = Add-AzBackupDataSource -ProtectionGroup web -ComputerName web01 -Path $www
        $files.PSObject.TypeNames[0] | Should -Be 'AzBackup.DataSource'
        $files.Name | Should -Be $wwwSource
        $files.Kind | Should -Be 'Files'
        $files.MaxDiskPoints | Should -Be 64
        $dump = Get-AzBackupProtectionGroup web | Add-AzBackupDataSource -ComputerName db01 -Command cat -ArgumentList $dumpFile -StreamName 'shop.db'
        $dump.Name | Should -Be 'db01:shop.db'
        $dump.Kind | Should -Be 'Stream'
        $dump.Arguments | Should -Be @($dumpFile)
        (Get-AzBackupProtectionGroup web).DataSources.Name | Should -Be @($wwwSource, 'db01:shop.db')
    }

    It 'refuses a data source in two groups, of a member that is not there, or not a path; adds nothing with -WhatIf' {
        $null = New-AzBackupProtectionGroup -Name other
        $err = { Add-AzBackupDataSource -ProtectionGroup other -ComputerName web01 -Path $www -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_DATASOURCE_IN_OTHER_GROUP,Add-AzBackupDataSource' -PassThru
        $err.Exception.Message | Should -BeLike '*protection group web*'
        { Add-AzBackupDataSource -ProtectionGroup other -ComputerName ghost -Path /srv -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_MEMBER_NOT_FOUND,Add-AzBackupDataSource'
        { Add-AzBackupDataSource -ProtectionGroup nogroup -ComputerName web01 -Path /srv -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_GROUP_NOT_FOUND,Add-AzBackupDataSource'
        { Add-AzBackupDataSource -ProtectionGroup other -ComputerName web01 -Path 'relative/path' -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_GROUP_INVALID,Add-AzBackupDataSource'
        Add-AzBackupDataSource -ProtectionGroup other -ComputerName web01 -Path /srv -WhatIf | Should -BeNullOrEmpty
        @((Get-AzBackupProtectionGroup other).DataSources).Count | Should -Be 0
    }

    It 'sets the short-term objective: retention, a frequency as a TimeSpan, then a schedule; installs the cron file' {
        $set = Set-AzBackupProtectionGroup -Name web -RetentionRangeDays 14 -SynchronizationFrequency ([timespan]'04:00') -StorePassphrase -Passphrase $pp
        $set.ShortTerm.RetentionRangeDays | Should -Be 14
        $set.ShortTerm.SynchronizationFrequencyMinutes | Should -Be 240
        $set.Scheduler | Should -Be 'cron'
        $set.NextRun | Should -BeOfType [datetime]
        $set.PassphraseStored | Should -Not -BeNullOrEmpty
        $cron = Get-Content -Raw -LiteralPath @($set.ScheduleFiles)[0]
        $cron | Should -BeLike '*group run web --scheduled*'
        $scheduled = Get-AzBackupProtectionGroup web | Set-AzBackupProtectionGroup -Schedule (New-AzBackupSchedule -DaysOfWeek Monday, Thursday -TimesOfDay 22:00)
        $scheduled.ShortTerm.SynchronizationFrequencyMinutes | Should -BeNullOrEmpty
        $scheduled.Schedule.DaysOfWeek | Should -Be @('Monday', 'Thursday')
        $scheduled.Schedule.TimesOfDay | Should -Be @('22:00')
        $scheduled.ShortTerm.RetentionRangeDays | Should -Be 14
    }

    It 'refuses an objective out of range with a code, keeping the one it has: <What>' -ForEach @(
        @{ What = '449 days'; Splat = @{ RetentionRangeDays = 449 }; Code = 'AZB_RETENTION_INVALID' }
        @{ What = '0 days'; Splat = @{ RetentionRangeDays = 0 }; Code = 'AZB_RETENTION_INVALID' }
        @{ What = 'every 7 minutes'; Splat = @{ SynchronizationFrequency = 7 }; Code = 'AZB_SCHEDULE_INVALID' }
        @{ What = 'a part of a minute'; Splat = @{ SynchronizationFrequency = [timespan]'00:00:30' }; Code = 'AZB_SCHEDULE_INVALID' }
        @{ What = 'a schedule every 2 weeks'; Splat = @{ Schedule = (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay 22:00 -WeeklyFrequency 2) }; Code = 'AZB_SCHEDULE_INVALID' }
    ) {
        { Set-AzBackupProtectionGroup -Name web @Splat -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Set-AzBackupProtectionGroup"
        $kept = Get-AzBackupProtectionGroup web
        $kept.ShortTerm.RetentionRangeDays | Should -Be 14
        $kept.Schedule.DaysOfWeek | Should -Be @('Monday', 'Thursday')
    }

    It 'shows the group as it would be with -WhatIf and saves nothing' {
        $preview = Set-AzBackupProtectionGroup -Name web -RetentionRangeDays 30 -WhatIf
        $preview.ShortTerm.RetentionRangeDays | Should -Be 30
        (Get-AzBackupProtectionGroup web).ShortTerm.RetentionRangeDays | Should -Be 14
    }

    It 'backs up both data sources now, one point each, marked with the group and the data source' {
        $out = Start-AzBackupProtectionGroup -Name web -Passphrase $pp
        $points = Select-Kind $out RecoveryPoint
        $points.Count | Should -Be 2
        ($points.DataSource | Sort-Object) | Should -Be @('db01:shop.db', $wwwSource)
        $points.ProtectionGroup | Should -Be @('web', 'web')
        $run = (Select-Kind $out ProtectionGroupRun)[0]
        $run.Group | Should -Be 'web'
        $run.DataSources.Status | Should -Be @('Completed', 'Completed')
        $run.Online | Should -BeNullOrEmpty
        ($run | Out-String) | Should -BeLike '*db01:shop.db: Completed*'
    }

    It 'reports per data source its newest disk point and size, and lists the points by data source' {
        $group = Get-AzBackupProtectionGroup web
        $files = $group.DataSources | Where-Object Name -EQ $wwwSource
        $files.DiskPoints | Should -Be 1
        $files.DiskPoint.Time | Should -BeOfType [datetime]
        $expected = (Get-ChildItem -LiteralPath $www -Recurse -File | Measure-Object Length -Sum).Sum
        $files.SizeBytes | Should -Be $expected
        $files.LastError | Should -BeNullOrEmpty
        ($group | Out-String -Width 200) | Should -BeLike "*${wwwSource}: disk * (1 of 64 points); online none*"
        $dumpPoints = @(Get-AzRecoveryPoint -ProtectionGroup web -DataSource db01:shop.db -Passphrase $pp)
        $dumpPoints.Count | Should -Be 1
        $dumpPoints[0].Sources | Should -Be @('shop.db')
        # From the data source objects, by property name (Group, DataSource).
        @($group.DataSources | Get-AzRecoveryPoint -Passphrase $pp).Count | Should -Be 2
    }

    It 'restores both data sources to this server bit-identical' {
        $target = Join-Path $root 'restore-disk'
        $null = Get-AzRecoveryPoint -ProtectionGroup web -DataSource $wwwSource -Passphrase $pp | Start-AzRecovery -Target $target -Passphrase $pp
        Get-RestoredTreeHash $target $www | Should -BeExactly (Get-TestTreeHash -Path $www)
        $null = Start-AzRecovery -PointId latest -ProtectionGroup web -DataSource db01:shop.db -Target $target -Passphrase $pp
        (Get-FileHash -LiteralPath (Join-Path $target 'shop.db')).Hash | Should -Be $dumpHash
    }

    It 'restores a data source onto a member over SSH, into a folder there' {
        $onMember = (New-Item -ItemType Directory -Path (Join-Path $root 'on-member')).FullName
        $result = Get-AzRecoveryPoint -ProtectionGroup web -DataSource $wwwSource -Passphrase $pp | Start-AzRecovery -ComputerName web01 -Target $onMember -Passphrase $pp
        $result.PSObject.TypeNames[0] | Should -Be 'AzBackup.RestoreResult'
        Get-RestoredTreeHash $onMember $www | Should -BeExactly (Get-TestTreeHash -Path $www) -Because "the member's folder holds: $((Get-ChildItem -Recurse -LiteralPath $onMember -File).Name -join ', ')"
    }

    It 'refuses a restore onto a member into a folder that is not there, or a relative one, writing nothing' {
        $missing = Join-Path $root 'not-there'
        { Start-AzRecovery -PointId latest -ProtectionGroup web -DataSource $wwwSource -ComputerName web01 -Target $missing -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_DIRECTORY_NOT_FOUND,Start-AzRecovery'
        Test-Path -LiteralPath $missing | Should -BeFalse
        # The member's path is not resolved on this server: a relative one reaches the engine as written.
        { Start-AzRecovery -PointId latest -ProtectionGroup web -DataSource $wwwSource -ComputerName web01 -Target 'relative/folder' -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ARGS_INVALID,Start-AzRecovery'
        { Start-AzRecovery -PointId latest -ProtectionGroup web -DataSource $wwwSource -ComputerName ghost -Target $root -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_MEMBER_NOT_FOUND,Start-AzRecovery'
    }

    It 'goes on with the other data sources when one member is down, and reports the failure' {
        $down = Start-TestSshd -Directory (Join-Path $root 'sshd-down')
        $null = Add-AzBackupMember -Name down01 -ComputerName 127.0.0.1 -Port $down.Port -UserName root -IdentityFile $down.ClientKey -HostKeyFingerprint $down.Fingerprint
        $null = Add-AzBackupDataSource -ProtectionGroup web -ComputerName down01 -Path /etc
        Stop-TestSshd $down
        $warnings = $null
        $out = Start-AzBackupProtectionGroup -Name web -Passphrase $pp -WarningVariable warnings -WarningAction SilentlyContinue
        (Select-Kind $out RecoveryPoint).Count | Should -Be 2
        $run = (Select-Kind $out ProtectionGroupRun)[0]
        $failed = $run.DataSources | Where-Object Name -EQ 'down01:/etc'
        $failed.Status | Should -Be 'Failed'
        $failed.Code | Should -Be 'AZB_MEMBER_UNREACHABLE'
        $failed.PointId | Should -BeNullOrEmpty
        ($warnings -join "`n") | Should -BeLike '*down01*'
        $report = (Get-AzBackupProtectionGroup web).DataSources | Where-Object Name -EQ 'down01:/etc'
        $report.LastError.Code | Should -Be 'AZB_MEMBER_UNREACHABLE'
        $report.DiskPoint | Should -BeNullOrEmpty
    }

    It 'removes a data source (asking first) and a group, keeping their points' {
        $no = (Invoke-TestChildPwsh "`$env:AZBACKUP_HOME = '$($srv.Home)'; Remove-AzBackupDataSource -ProtectionGroup web -DataSource down01:/etc" -Answer 'N') -replace '\s+', ' '
        $no | Should -BeLike '*Are you sure*data source down01:/etc*'
        (Get-AzBackupProtectionGroup web).DataSources.Name | Should -Contain 'down01:/etc'
        $removed = (Get-AzBackupProtectionGroup web).DataSources | Where-Object Member -EQ down01 | Remove-AzBackupDataSource -Confirm:$false
        $removed.PSObject.TypeNames[0] | Should -Be 'AzBackup.RemovedDataSource'
        $removed.Name | Should -Be 'down01:/etc'
        { Remove-AzBackupDataSource -ProtectionGroup web -DataSource down01:/etc -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_DATASOURCE_NOT_FOUND,Remove-AzBackupDataSource'
        $gone = Remove-AzBackupProtectionGroup -Name other -Confirm:$false
        $gone.Name | Should -Be 'other'
        { Get-AzBackupProtectionGroup other -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_GROUP_NOT_FOUND,Get-AzBackupProtectionGroup'
        @(Get-AzRecoveryPoint -ProtectionGroup web -Passphrase $pp).Count | Should -Be 4
    }
}

Describe 'Online protection of the group to an Azure vault (Azurite)' {
    BeforeAll {
        $env:AZBACKUP_HOME = $srv.Home
        $script:azurite = Start-TestAzurite -Root $root
        $env:AZBACKUP_STORAGE_CONNECTION_STRING = $azurite.ConnectionString
        $script:azureVault = (New-AzBackupVault -StorageAccountUrl $azurite.Endpoint -Container 'online-copy').Vault
    }
    AfterAll {
        $env:AZBACKUP_STORAGE_CONNECTION_STRING = $null
        $env:AZBACKUP_BYTES_PER_GB = $script:savedBytesPerGB
        Stop-TestAzurite $script:azurite
    }
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'is refused while this server''s certificate was never uploaded to the Azure vault (AZB_ONLINE_CERT_NOT_UPLOADED)' {
        $err = { Enable-AzBackupOnlineProtection -ProtectionGroup web -Vault $azureVault -OnlineRetentionDays 30 -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ONLINE_CERT_NOT_UPLOADED,Enable-AzBackupOnlineProtection' -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        (Get-AzBackupProtectionGroup web).Online | Should -BeNullOrEmpty
    }

    It 'refuses limits over the online maximums, touching nothing: <What>' -ForEach @(
        @{ What = '121 days'; Splat = @{ OnlineRetentionDays = 121 } }
        @{ What = '0 days'; Splat = @{ OnlineRetentionDays = 0 } }
        @{ What = '121 points'; Splat = @{ OnlineRetentionDays = 30; MaxOnlinePoints = 121 } }
        @{ What = '851 GB'; Splat = @{ OnlineRetentionDays = 30; MaxOnlineSizeGB = 851 } }
    ) {
        { Enable-AzBackupOnlineProtection -ProtectionGroup web -Vault $azureVault @Splat -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_ONLINE_RETENTION_INVALID,Enable-AzBackupOnlineProtection'
        (Get-AzBackupProtectionGroup web).Online | Should -BeNullOrEmpty
    }

    It 'enables online protection once the certificate is there, with the settings given; -WhatIf changes nothing' {
        $null = $srv.Certificate | Add-AzBackupVaultCertificate -Vault $azureVault
        Enable-AzBackupOnlineProtection -ProtectionGroup web -Vault $azureVault -OnlineRetentionDays 30 -Passphrase $pp -WhatIf | Should -BeNullOrEmpty
        (Get-AzBackupProtectionGroup web).Online | Should -BeNullOrEmpty
        $null = Get-AzBackupProtectionGroup web | Enable-AzBackupOnlineProtection -Vault $azureVault -OnlineRetentionDays 30 -MaxOnlinePoints 10 -OnlineTimesOfDay 23:30 -Passphrase $pp
        $online = (Get-AzBackupProtectionGroup web).Online
        $online.Vault | Should -Be $azureVault
        $online.RetentionDays | Should -Be 30
        $online.MaxPoints | Should -Be 10
        $online.MaxSizeGB | Should -Be 850
        $online.TimesOfDay | Should -Be @('23:30')
    }

    It 'copies the newest disk point of each data source with -Online, and restores from the online copy bit-identical' {
        $out = Start-AzBackupProtectionGroup -Name web -Online -Passphrase $pp
        $run = (Select-Kind $out ProtectionGroupRun)[0]
        $run.Online.PSObject.TypeNames[0] | Should -Be 'AzBackup.OnlineCopy'
        ($run.Online.DataSources | Sort-Object Name).Status | Should -Be @('Copied', 'Copied')
        ($run.Online.DataSources | Measure-Object PacksCopied -Sum).Sum | Should -BeGreaterThan 0
        $onlinePoints = @(Get-AzRecoveryPoint -ProtectionGroup web -Online -Passphrase $pp)
        $onlinePoints.Count | Should -Be 2
        $onlinePoints.Vault | Should -Be @($azureVault, $azureVault)
        $report = (Get-AzBackupProtectionGroup web).DataSources | Where-Object Name -EQ $wwwSource
        $report.OnlinePoints | Should -Be 1
        $report.OnlinePoint.Id | Should -Be ($onlinePoints | Where-Object DataSource -EQ $wwwSource).PointId
        $target = Join-Path $root 'restore-online'
        $null = $onlinePoints | Where-Object DataSource -EQ $wwwSource | Start-AzRecovery -Target $target -Passphrase $pp
        Get-RestoredTreeHash $target $www | Should -BeExactly (Get-TestTreeHash -Path $www)
        $null = Start-AzRecovery -PointId latest -ProtectionGroup web -DataSource db01:shop.db -Online -Target $target -Passphrase $pp
        (Get-FileHash -LiteralPath (Join-Path $target 'shop.db')).Hash | Should -Be $dumpHash
    }

    It 'refuses the online copy of a data source over the size limit (AZB_ONLINE_SIZE_LIMIT) and goes on backing it up to disk' {
        # AZBACKUP_BYTES_PER_GB scales the limits: here 1 "GB" is 1 MB, so the 1.5 MB tree is over 1 GB
        # and the 0.7 MB dump is not.
        $env:AZBACKUP_BYTES_PER_GB = '1000000'
        $null = Enable-AzBackupOnlineProtection -ProtectionGroup web -Vault $azureVault -OnlineRetentionDays 30 -MaxOnlineSizeGB 1 -Passphrase $pp
        $out = Start-AzBackupProtectionGroup -Name web -Online -Passphrase $pp -WarningAction SilentlyContinue
        (Select-Kind $out RecoveryPoint).Count | Should -Be 2
        $copy = (Select-Kind $out ProtectionGroupRun)[0].Online
        $refused = $copy.DataSources | Where-Object Name -EQ $wwwSource
        $refused.Status | Should -Be 'Refused'
        $refused.Code | Should -Be 'AZB_ONLINE_SIZE_LIMIT'
        ($copy.DataSources | Where-Object Name -EQ 'db01:shop.db').Status | Should -Be 'Copied'
        $report = (Get-AzBackupProtectionGroup web).DataSources | Where-Object Name -EQ $wwwSource
        $report.OverSizeLimit | Should -BeTrue
        $report.SizeLimitBytes | Should -Be 1000000
        $report.LastError.Code | Should -Be 'AZB_ONLINE_SIZE_LIMIT'
        $report.DiskPoints | Should -Be 4 # the four runs of this file, none expired (14 days)
        $report.OnlinePoints | Should -Be 1
        ($report | Out-String -Width 200) | Should -BeLike '*(over the limit)*'
    }

    It 'needs online protection for -Online on a group that has none (AZB_ONLINE_NOT_ENABLED)' {
        $null = New-AzBackupProtectionGroup -Name offline-only -Vault $srv.Vault
        { Get-AzRecoveryPoint -ProtectionGroup offline-only -Online -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ONLINE_NOT_ENABLED,Get-AzRecoveryPoint'
        { Start-AzBackupProtectionGroup -Name offline-only -Online -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ONLINE_NOT_ENABLED,Start-AzBackupProtectionGroup'
    }
}
