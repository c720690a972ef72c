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
