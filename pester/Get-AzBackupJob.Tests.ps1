BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'jobs-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:point = Start-AzBackup -Path $data -Passphrase $pp
    $null = Start-AzRecovery -PointId 'deadbeef0000' -Target (Join-Path $root 'restore') -Passphrase $pp -ErrorAction SilentlyContinue
    $script:check = Test-AzBackupVault -Passphrase $pp
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzBackupJob' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home }

    It 'lists the jobs of this machine, newest first, as typed AzBackup.Job objects' {
        $jobs = @(Get-AzBackupJob)
        $jobs.Operation | Should -Be @('Check', 'Restore', 'Backup')
        $jobs | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.Job' }
        $jobs.JobId | Should -Match '^\d{8}T\d{6}-[0-9a-f]{8}$'
    }

    It 'shows the backup job Completed, with its times and statistics' {
        $backup = Get-AzBackupJob | Where-Object Operation -EQ 'Backup'
        $backup.Status | Should -Be 'Completed'
        $backup.StartTime | Should -BeOfType [datetime]
        $backup.EndTime | Should -BeOfType [datetime]
        $backup.EndTime | Should -BeGreaterOrEqual $backup.StartTime
        $backup.ServerId | Should -Be $srv.ServerId
        $backup.Vault | Should -Be $srv.Vault
        $backup.Stats.PointId | Should -Be $point.PointId
        $backup.Stats.FilesNew | Should -Be $point.FilesNew
        $backup.Stats.PSObject.Properties.Name | Should -Contain 'BytesAdded'
        $backup.Errors | Should -BeNullOrEmpty
        $backup.Warnings | Should -Be 0
    }

    It 'shows a failed job with its error' {
        $failed = Get-AzBackupJob | Where-Object Operation -EQ 'Restore'
        $failed.Status | Should -Be 'Failed'
        $failed.Errors.code | Should -Be 'AZB_POINT_NOT_FOUND'
    }

    It 'filters by -Status and limits with -Previous' {
        (Get-AzBackupJob -Status Failed).Operation | Should -Be 'Restore'
        (Get-AzBackupJob -Status Completed).Operation | Should -Be @('Check', 'Backup')
        Get-AzBackupJob -Status Cancelled | Should -BeNullOrEmpty
        (Get-AzBackupJob -Previous 1).Operation | Should -Be 'Check'
        (Get-AzBackupJob -Status Completed -Previous 1).Operation | Should -Be 'Check'
    }

    It 'gets one job by -JobId, also from the pipeline' {
        $backup = Get-AzBackupJob | Where-Object Operation -EQ 'Backup'
        (Get-AzBackupJob -JobId $backup.JobId).Operation | Should -Be 'Backup'
        ($backup | Get-AzBackupJob).JobId | Should -Be $backup.JobId
    }

    It 'says when a job does not exist' {
        $err = { Get-AzBackupJob -JobId '20000101T000000-00000000' -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_JOB_NOT_FOUND,Get-AzBackupJob' -PassThru
        $err.TargetObject | Should -Be '20000101T000000-00000000'
    }

    It 'lists nothing on a machine with no jobs' {
        $null = New-TestHome -Root $root
        Get-AzBackupJob | Should -BeNullOrEmpty
    }

    It 'refuses a status it does not know' {
        { Get-AzBackupJob -Status 'Running' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Get-AzBackupJob'
    }
}

Describe 'Get-AzBackupJob and the skipped-files report' {
    BeforeAll {
        $script:skipSrv = New-TestBackupServer -Root $root -HostName 'skip-srv'
        $script:odd = Join-Path $root 'odd'
        $null = New-Item -ItemType Directory -Path $odd
        Set-Content -LiteralPath (Join-Path $odd 'data.txt') -Value 'kept'
        # Sockets, FIFOs and devices are listed, never backed up; one FIFO's name holds a newline.
        & mkfifo (Join-Path $odd 'plain.fifo') "$odd/line`nbreak.fifo"
        & python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' (Join-Path $odd 'app.sock')
        & mknod (Join-Path $odd 'null.dev') c 1 3
        $script:units = Join-Path $root 'units'
        function script:Get-SkippedLines([string]$Path) { @(Get-Content -LiteralPath $Path | Where-Object { -not $_.StartsWith('#') } | Sort-Object) }
        $script:expectedLines = @(
            "AZB_SKIP_SPECIAL`t$odd/app.sock`tsocket: only file data is backed up"
            "AZB_SKIP_SPECIAL`t$odd/line\nbreak.fifo`tFIFO: only file data is backed up"
            "AZB_SKIP_SPECIAL`t$odd/null.dev`tcharacter device: only file data is backed up"
            "AZB_SKIP_SPECIAL`t$odd/plain.fifo`tFIFO: only file data is backed up"
        ) | Sort-Object
    }
    BeforeEach { $env:AZBACKUP_HOME = $skipSrv.Home; $env:AZBACKUP_UNIT_ROOT = $units; $env:AZBACKUP_SCHEDULER = 'cron' }

    It 'shows SkippedFilesPath of a Start-AzBackup job, in the object and in the default view, and the file lists every skipped path' {
        $point = Start-AzBackup -Path $odd -Passphrase $skipSrv.Passphrase
        $point.FilesNew | Should -Be 1
        $job = Get-AzBackupJob -Previous 1
        $job.Operation | Should -Be 'Backup'
        $job.Status | Should -Be 'Completed'
        $job.SkippedFilesPath | Should -Be (Join-Path $skipSrv.Home "job-files/$($job.JobId)/skipped.txt")
        $job.Stats.Skipped | Should -Be 4
        $job.Stats.SkippedByCode.AZB_SKIP_SPECIAL | Should -Be 4
        Get-SkippedLines $job.SkippedFilesPath | Should -Be $expectedLines
        ($job | Format-Table | Out-String -Width 400) | Should -BeLike "*$($job.SkippedFilesPath)*"
        (Get-AzBackupJob -JobId $job.JobId).SkippedFilesPath | Should -Be $job.SkippedFilesPath
    }

    It 'shows SkippedFilesPath of a policy run''s job' {
        $null = New-AzBackupPolicy -Name odd |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $odd) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7) |
            Set-AzBackupPolicy -StorePassphrase -Passphrase $skipSrv.Passphrase
        $point = Start-AzBackup -PolicyName odd
        $point.Policy | Should -Be 'odd'
        $job = Get-AzBackupJob | Where-Object { $_.Operation -eq 'Backup' -and $_.Policy -eq 'odd' } | Select-Object -First 1
        $job.SkippedFilesPath | Should -Be (Join-Path $skipSrv.Home "job-files/$($job.JobId)/skipped.txt")
        Get-SkippedLines $job.SkippedFilesPath | Should -Be $expectedLines
        Remove-AzBackupPolicy -Name odd -Confirm:$false
    }

    It 'has no SkippedFilesPath when nothing was skipped' {
        $clean = Join-Path $root 'clean'
        $null = New-Item -ItemType Directory -Path $clean
        Set-Content -LiteralPath (Join-Path $clean 'a.txt') -Value 'a'
        $null = Start-AzBackup -Path $clean -Passphrase $skipSrv.Passphrase
        $job = Get-AzBackupJob -Previous 1
        $job.Status | Should -Be 'Completed'
        $job.SkippedFilesPath | Should -BeNullOrEmpty
    }
}
