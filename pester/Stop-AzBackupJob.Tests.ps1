BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'stop-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:point = Start-AzBackup -Path $data -Passphrase $pp
    $script:completed = Get-AzBackupJob -Previous 1
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Stop-AzBackupJob' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home }

    It 'stops a running backup cleanly: the job ends Cancelled and no recovery point is written' {
        $module = Join-Path $PSScriptRoot '../module/AzBackup.psd1'
        # A backup of a slow stream (about 1.3 MB/s for at most 40 s) in another PowerShell process.
        $background = Start-Job -ScriptBlock {
            param($module, $passphrase)
            Import-Module $module
            try {
                Start-AzBackup -FromCommand 'sh' -ArgumentList '-c', 'i=0; while [ $i -lt 800 ]; do head -c 65536 /dev/urandom; sleep 0.05; i=$((i+1)); done' `
                    -StreamName 'slow.bin' -Passphrase (ConvertTo-SecureString $passphrase -AsPlainText -Force) -ErrorAction Stop
                'no error'
            } catch { $_.FullyQualifiedErrorId }
        } -ArgumentList $module, $srv.PassphraseText
        try {
            $running = $null
            $deadline = (Get-Date).AddSeconds(60)
            while (-not $running -and (Get-Date) -lt $deadline) {
                Start-Sleep -Milliseconds 250
                $running = Get-AzBackupJob -Status InProgress
            }
            $running.Operation | Should -Be 'Backup'

            Stop-AzBackupJob -JobId $running.JobId -WhatIf | Should -BeNullOrEmpty
            Start-Sleep -Milliseconds 500
            (Get-AzBackupJob -JobId $running.JobId).Status | Should -Be 'InProgress'

            $stopped = $running | Stop-AzBackupJob -PassThru
            $stopped.PSObject.TypeNames[0] | Should -Be 'AzBackup.Job'
            $stopped.JobId | Should -Be $running.JobId
            $stopped.Status | Should -Be 'Cancelled'
            $stopped.Errors.code | Should -Be 'AZB_CANCELLED'

            $outcome = $background | Wait-Job -Timeout 60 | Receive-Job
            $outcome | Should -Be 'AZB_CANCELLED,Start-AzBackup'
        } finally {
            $background | Remove-Job -Force
        }
        (Get-AzRecoveryPoint -Passphrase $pp).PointId | Should -Be $point.PointId
    }

    It 'changes nothing for a job that is no longer running, says so, and outputs nothing without -PassThru' {
        Stop-AzBackupJob -JobId $completed.JobId -WarningVariable said -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$said" | Should -Match "Job $($completed.JobId) \(Backup\) is not running: it ended Completed at .*Nothing was stopped"
        ($completed | Stop-AzBackupJob -PassThru -WarningAction SilentlyContinue).Status | Should -Be 'Completed'
        (Get-AzBackupJob -JobId $completed.JobId).Status | Should -Be 'Completed'
    }

    It 'says when a job does not exist' {
        { Stop-AzBackupJob -JobId '20000101T000000-00000000' -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_JOB_NOT_FOUND,Stop-AzBackupJob'
    }
}
