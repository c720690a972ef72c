# Start-AzBackup -Snapshot, policies' Snapshot, and the snapshot provider of Set-AzBackupMachineSetting,
# against the real engine. The VSS path (Windows) runs here with the CIM cmdlets mocked, since they do
# not exist on Linux: the mocked "shadow copy" is a real copy of the data, which the real engine reads.
# It has not run on Windows (README "Snapshot-consistent reads").
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'snap-srv'
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:pp = $srv.Passphrase
    $env:AZBACKUP_UNIT_ROOT = Join-Path $root 'units'
    $env:AZBACKUP_SCHEDULER = 'cron'
    # The CIM cmdlets of Windows, with their parameters, so that Pester can mock them here (unmocked they throw).
    $stub = { param($ClassName, $MethodName, [hashtable]$Arguments, $Filter, [Parameter(ValueFromPipeline)]$InputObject) throw 'not mocked' }
    foreach ($name in 'Invoke-CimMethod', 'Get-CimInstance', 'Remove-CimInstance') {
        if (-not (Get-Command $name -ErrorAction SilentlyContinue)) { New-Item -Path "function:global:$name" -Value $stub | Out-Null }
    }

    function script:Get-PointCount { @(Get-AzRecoveryPoint -Passphrase $pp -ErrorAction Stop).Count }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
    foreach ($name in 'Invoke-CimMethod', 'Get-CimInstance', 'Remove-CimInstance') { Remove-Item -Path "function:global:$name" -ErrorAction SilentlyContinue }
}

Describe 'Start-AzBackup -Snapshot on Linux' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'refuses -Snapshot Required where no snapshot can be made, naming the ways, and writes no point' {
        $before = Get-PointCount
        { Start-AzBackup -Path $data -Snapshot Required -Passphrase $pp -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_SNAPSHOT_UNAVAILABLE,Start-AzBackup'
        try { Start-AzBackup -Path $data -Snapshot Required -Passphrase $pp -ErrorAction Stop } catch { $err = $_ }
        $err.ErrorDetails.RecommendedAction + $err.Exception.Message | Should -Match 'btrfs'
        Get-PointCount | Should -Be $before
    }

    It 'records how each source was read: live, and why' {
        $auto = Start-AzBackup -Path $data -Passphrase $pp
        $auto.SnapshotMode | Should -Be 'Auto'
        $auto.Reads[0].source | Should -Be $data
        $auto.Reads[0].method | Should -Be 'live'
        $auto.Reads[0].note | Should -Match 'no snapshot method'
        $none = Start-AzBackup -Path $data -Snapshot None -Passphrase $pp
        $none.SnapshotMode | Should -Be 'None'
        $none.Reads[0].note | Should -Be 'snapshot mode None'
    }
}

Describe 'Start-AzBackup -Snapshot with VSS (CIM mocked)' {
    BeforeEach {
        $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null
        # The "shadow copy": the data as it was, under a device root, as \\?\GLOBALROOT\Device\… would be.
        $script:device = Join-Path $root "shadow-$([guid]::NewGuid().ToString('N'))"
        $frozen = Join-Path $device $data.TrimStart('/')
        New-Item -ItemType Directory -Path (Split-Path $frozen) -Force | Out-Null
        Copy-Item -LiteralPath $data -Destination $frozen -Recurse
        Set-Content -LiteralPath (Join-Path $frozen 'a.txt') -Value 'as it was when the shadow copy was made' -NoNewline
        Mock -ModuleName AzBackup Test-AzBackupVssPlatform { $true }
        Mock -ModuleName AzBackup Invoke-CimMethod { [pscustomobject]@{ ReturnValue = 0; ShadowID = '{0A1B2C3D-0000-0000-0000-000000000001}' } }
        Mock -ModuleName AzBackup Get-CimInstance { [pscustomobject]@{ ID = '{0A1B2C3D-0000-0000-0000-000000000001}'; DeviceObject = $script:device } }
        Mock -ModuleName AzBackup Remove-CimInstance { }
    }

    It 'reads the shadow copy, records the original paths, and deletes the shadow copy' {
        $point = Start-AzBackup -Path $data -Passphrase $pp
        $point.Sources | Should -Be @($data)
        $point.Reads[0].method | Should -Be 'vss'
        Should -Invoke -ModuleName AzBackup Invoke-CimMethod -Times 1 -Exactly -ParameterFilter {
            $ClassName -eq 'Win32_ShadowCopy' -and $MethodName -eq 'Create' -and $Arguments.Volume -eq '/' -and $Arguments.Context -eq 'ClientAccessible'
        }
        Should -Invoke -ModuleName AzBackup Remove-CimInstance -Times 1 -Exactly
        $item = Get-AzRecoverableItem -PointId $point.PointId -Path (Join-Path $data 'a.txt') -Passphrase $pp
        $item.Path | Should -Be (Join-Path $data 'a.txt')
        $item.Size | Should -Be ('as it was when the shadow copy was made'.Length)
    }

    It 'deletes the shadow copy when the backup fails' {
        $wrong = ConvertTo-SecureString 'not the passphrase' -AsPlainText -Force
        { Start-AzBackup -Path $data -Passphrase $wrong -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Start-AzBackup'
        Should -Invoke -ModuleName AzBackup Remove-CimInstance -Times 1 -Exactly
    }

    It 'warns and reads live under Auto when the shadow copy fails; stops under Required' {
        Mock -ModuleName AzBackup Invoke-CimMethod { [pscustomobject]@{ ReturnValue = 5; ShadowID = $null } }
        $point = Start-AzBackup -Path $data -Passphrase $pp -WarningVariable warned -WarningAction SilentlyContinue
        ($warned | Where-Object { "$_" -like 'AZB_SNAPSHOT_FAILED:*returned 5*' }) | Should -Not -BeNullOrEmpty
        $point.Reads[0].method | Should -Be 'live'
        $before = Get-PointCount
        { Start-AzBackup -Path $data -Snapshot Required -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SNAPSHOT_FAILED,Start-AzBackup'
        Get-PointCount | Should -Be $before
        Should -Invoke -ModuleName AzBackup Remove-CimInstance -Times 0 -Exactly
    }

    It 'refuses -PreCommand with a shadow copy (it would run after the copy), and accepts it with -Snapshot None' {
        $before = Get-PointCount
        { Start-AzBackup -Path $data -PreCommand '/bin/true' -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ARGS_INVALID,Start-AzBackup'
        Get-PointCount | Should -Be $before
        Should -Invoke -ModuleName AzBackup Invoke-CimMethod -Times 0 -Exactly
        $point = Start-AzBackup -Path $data -Snapshot None -PreCommand '/bin/true' -Passphrase $pp
        $point.Reads[0].method | Should -Be 'live'
    }

    It 'makes no shadow copy with -Snapshot None' {
        $point = Start-AzBackup -Path $data -Snapshot None -Passphrase $pp
        $point.Reads[0].method | Should -Be 'live'
        Should -Invoke -ModuleName AzBackup Invoke-CimMethod -Times 0 -Exactly
    }
}

Describe 'Snapshot settings of machines and policies' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'sets and removes the snapshot provider' {
        $set = Set-AzBackupMachineSetting -SnapshotCreateCommand /usr/local/sbin/snap-create -SnapshotRemoveCommand /usr/local/sbin/snap-remove -SnapshotTimeoutSeconds 30
        $set.SnapshotCreateCommand | Should -Be '/usr/local/sbin/snap-create'
        $set.SnapshotRemoveCommand | Should -Be '/usr/local/sbin/snap-remove'
        $set.SnapshotTimeoutSeconds | Should -Be 30
        { Set-AzBackupMachineSetting -SnapshotCreateCommand 'snap-create' -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ARGS_INVALID,Set-AzBackupMachineSetting'
        (Set-AzBackupMachineSetting -NoSnapshotProvider).SnapshotCreateCommand | Should -Be ''
    }

    It 'saves a policy with -Snapshot, and changes it with Set-AzBackupPolicy -Snapshot' {
        $policy = New-AzBackupPolicy -Name snapped -Snapshot Required |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7)
        $policy.Snapshot | Should -Be 'Required'
        ($policy | Set-AzBackupPolicy -Passphrase $pp).Snapshot | Should -Be 'Required'
        (Get-AzBackupPolicy snapped).Snapshot | Should -Be 'Required'
        # Its run asks for a snapshot that cannot be made here (ext4): the run fails with the code.
        { Start-AzBackup -PolicyName snapped -Passphrase $pp -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SNAPSHOT_UNAVAILABLE,Start-AzBackup'
        (Get-AzBackupPolicy snapped | Set-AzBackupPolicy -Snapshot None -Passphrase $pp).Snapshot | Should -Be 'None'
        $run = Start-AzBackup -PolicyName snapped -Passphrase $pp
        ($run | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.RecoveryPoint' }).Reads[0].note | Should -Be 'snapshot mode None'
        Remove-AzBackupPolicy -Name snapped -Confirm:$false | Out-Null
    }
}
