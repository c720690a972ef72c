# -PreCommand / -PostCommand of Start-AzBackup, and of policies (New-/Set-AzBackupPolicy, Start-AzBackup
# -Policy), against the real engine with real scripts. Schedules go to cron.d files below a test unit
# root, never to the machine's /etc.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'hooks-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $env:AZBACKUP_UNIT_ROOT = Join-Path $root 'units'
    $env:AZBACKUP_SCHEDULER = 'cron'

    # A script file: pre and post commands are executables with arguments, run without a shell.
    function script:New-TestScript([string]$Name, [string]$Body) {
        $path = Join-Path $root $Name
        Set-Content -LiteralPath $path -Value "#!/bin/sh`n$Body`n" -NoNewline
        chmod 755 $path
        $path
    }
    # The post script records how it was called in $marker.
    function script:New-PostScript([string]$Marker) {
        New-TestScript -Name "post-$([guid]::NewGuid().ToString('n').Substring(0, 8)).sh" -Body "echo `"`$AZBACKUP_PHASE `$AZBACKUP_STATUS `$AZBACKUP_JOB_ID `$1`" >> '$Marker'; echo 'app resumed'"
    }
    function script:Get-PointCount { @(Get-AzRecoveryPoint -Passphrase $pp -ErrorAction Stop).Count }
    function script:New-TestPolicy([string]$Name) {
        New-AzBackupPolicy -Name $Name -PreCommand $args[0] -PreArgumentList 'for-policy' -PreCommandTimeoutSeconds 30 -PostCommand $args[1] -PostArgumentList 'done' |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7)
    }
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-AzBackup -PreCommand and -PostCommand' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'runs the pre command before the read and the post command after it; the job shows the command log' {
        $marker = Join-Path $root 'ok.marker'
        $pre = New-TestScript -Name 'pre-ok.sh' -Body "echo `"pre `$AZBACKUP_PHASE `$1`" >> '$marker'; echo 'app quiesced'; echo `"`$1`" > '$data/quiesced.txt'"
        $output = Start-AzBackup -Path $data -Passphrase $pp -PreCommand $pre -PreArgumentList 'one arg with spaces' -PostCommand (New-PostScript $marker) -PostArgumentList 'x' -Verbose 4>&1
        $point = $output | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.RecoveryPoint' }
        $point | Should -Not -BeNullOrEmpty
        ($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'pre command: app quiesced'
        $job = Get-AzBackupJob -Previous 1
        $job.Status | Should -Be 'Completed'
        $lines = Get-Content -LiteralPath $marker
        $lines[0] | Should -Be 'pre pre one arg with spaces'
        $lines[1] | Should -Be "post Succeeded $($job.JobId) x"
        # What the pre command wrote into the source is in the point: the walk began after it.
        (Get-AzRecoverableItem -PointId $point.PointId -Recurse -Passphrase $pp).Name | Should -Contain 'quiesced.txt'
        $job.CommandLogPath | Should -Be (Join-Path $srv.Home "job-files/$($job.JobId)/commands.log")
        Get-Content -Raw -LiteralPath $job.CommandLogPath | Should -Match 'post stdout: app resumed'
        Remove-Item -LiteralPath (Join-Path $data 'quiesced.txt')
    }

    It 'stops with AZB_PRE_COMMAND_FAILED when the pre command fails, writes no point, and still runs the post command' {
        $marker = Join-Path $root 'fail.marker'
        $pre = New-TestScript -Name 'pre-fail.sh' -Body "echo 'replica is not in sync' >&2; exit 4"
        $before = Get-PointCount
        { Start-AzBackup -Path $data -Passphrase $pp -PreCommand $pre -PostCommand (New-PostScript $marker) -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_PRE_COMMAND_FAILED,Start-AzBackup' -ExpectedMessage '*exit code 4*replica is not in sync*'
        Get-PointCount | Should -Be $before
        $job = Get-AzBackupJob -Previous 1
        $job.Status | Should -Be 'Failed'
        Get-Content -LiteralPath $marker | Should -Be "post Failed $($job.JobId) "
        Get-Content -Raw -LiteralPath $job.CommandLogPath | Should -Match 'pre stderr: replica is not in sync'
    }

    It 'kills a pre command at -PreCommandTimeoutSeconds' {
        $marker = Join-Path $root 'timeout.marker'
        $pre = New-TestScript -Name 'pre-hang.sh' -Body 'sleep 300'
        { Start-AzBackup -Path $data -Passphrase $pp -PreCommand $pre -PreCommandTimeoutSeconds 1 -PostCommand (New-PostScript $marker) -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_PRE_COMMAND_FAILED,Start-AzBackup' -ExpectedMessage '*timed out after 1 s*'
        Get-Content -LiteralPath $marker | Should -BeLike 'post Failed *'
    }

    It 'warns with AZB_POST_COMMAND_FAILED when the post command fails, and keeps the point' {
        $post = New-TestScript -Name 'post-fail.sh' -Body 'exit 9'
        $before = Get-PointCount
        $point = Start-AzBackup -Path $data -Passphrase $pp -PostCommand $post -WarningVariable warned -WarningAction SilentlyContinue
        $point | Should -Not -BeNullOrEmpty
        Get-PointCount | Should -Be ($before + 1)
        "$warned" | Should -BeLike '*exit code 9*'
        (Get-AzBackupJob -Previous 1).Status | Should -Be 'CompletedWithWarnings'
    }

    It 'runs the post command of a stream backup (-FromCommand)' {
        $marker = Join-Path $root 'stream.marker'
        $point = Start-AzBackup -FromCommand 'printf' -ArgumentList 'dump' -StreamName 'dump.txt' -Passphrase $pp -PostCommand (New-PostScript $marker)
        $point | Should -Not -BeNullOrEmpty
        Get-Content -LiteralPath $marker | Should -BeLike 'post Succeeded *'
    }

    It 'refuses <Case> with <Code> and runs nothing' -ForEach @(
        @{ Case = 'a time-out of 0'; Code = 'AZB_ARGS_INVALID'; Extra = @{ PreCommand = '/bin/true'; PreCommandTimeoutSeconds = 0 } }
        @{ Case = 'arguments without a command'; Code = 'AZB_USAGE'; Extra = @{ PostArgumentList = 'x' } }
        @{ Case = 'a time-out without a command'; Code = 'AZB_USAGE'; Extra = @{ PreCommandTimeoutSeconds = 5 } }
    ) {
        $before = Get-PointCount
        { Start-AzBackup -Path $data -Passphrase $pp @Extra -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Start-AzBackup"
        Get-PointCount | Should -Be $before
    }

    It 'runs the post command when the backup is stopped (Ctrl+C) while the pre command runs, and kills the pre command' {
        $marker = Join-Path $root 'ctrl-c.marker'
        $pidFile = Join-Path $root 'ctrl-c.pid'
        $pre = New-TestScript -Name 'pre-ctrl-c.sh' -Body "echo `$`$ > '$pidFile'; sleep 300"
        $post = New-PostScript $marker
        $module = Join-Path $PSScriptRoot '../module/AzBackup.psd1'
        # Stopping a pipeline from the outside is what Ctrl+C does to the one at the prompt.
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript({
                    param($module, $passphrase, $path, $pre, $post)
                    Import-Module $module
                    Start-AzBackup -Path $path -PreCommand $pre -PostCommand $post -Passphrase (ConvertTo-SecureString $passphrase -AsPlainText -Force)
                }).AddArgument($module).AddArgument($srv.PassphraseText).AddArgument($data).AddArgument($pre).AddArgument($post)
            $async = $shell.BeginInvoke()
            $deadline = (Get-Date).AddSeconds(60)
            while (-not (Test-Path -LiteralPath $pidFile) -and -not $async.IsCompleted -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Test-Path -LiteralPath $pidFile | Should -BeTrue -Because 'the pre command must be running when the backup is stopped'
            $running = Get-AzBackupJob -Status InProgress
            $running | Should -Not -BeNullOrEmpty
            $shell.Stop()
        } finally { $shell.Dispose() }
        $job = Get-AzBackupJob -JobId $running.JobId
        $job.Status | Should -Be 'Cancelled'
        Get-Content -LiteralPath $marker | Should -Be "post Cancelled $($job.JobId) "
        $prePid = [int](Get-Content -LiteralPath $pidFile)
        Get-Process -Id $prePid -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'runs nothing with -WhatIf' {
        $marker = Join-Path $root 'whatif.marker'
        $pre = New-TestScript -Name 'pre-whatif.sh' -Body "touch '$marker'"
        $before = Get-PointCount
        Start-AzBackup -Path $data -Passphrase $pp -PreCommand $pre -PostCommand $pre -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath $marker | Should -BeFalse
        Get-PointCount | Should -Be $before
    }
}

Describe 'Policies with pre and post commands' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'saves them (New-AzBackupPolicy, Set-AzBackupPolicy) and a policy run runs them around its backup' {
        $marker = Join-Path $root 'policy.marker'
        $pre = New-TestScript -Name 'pre-policy.sh' -Body "echo `"pre `$AZBACKUP_POLICY `$1`" >> '$marker'"
        $saved = New-TestPolicy 'withhooks' $pre (New-PostScript $marker) | Set-AzBackupPolicy -StorePassphrase -Passphrase $pp
        $saved.PreCommand.Command | Should -Be $pre
        $saved.PreCommand.ArgumentList | Should -Be @('for-policy')
        $saved.PreCommand.TimeoutSeconds | Should -Be 30
        $saved.PostCommand.ArgumentList | Should -Be @('done')
        $saved.PostCommand.TimeoutSeconds | Should -BeNullOrEmpty
        (Get-AzBackupPolicy withhooks).PreCommand.Command | Should -Be $pre
        $run = Start-AzBackup -PolicyName withhooks
        $run | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.RecoveryPoint' } | Should -Not -BeNullOrEmpty
        $job = Get-AzBackupJob | Where-Object { $_.Operation -eq 'Backup' -and $_.Policy -eq 'withhooks' } | Select-Object -First 1
        $job.Status | Should -Be 'Completed'
        Get-Content -LiteralPath $marker | Should -Be @('pre withhooks for-policy', "post Succeeded $($job.JobId) done")
        $job.CommandLogPath | Should -Not -BeNullOrEmpty
    }

    It 'fails the run with AZB_PRE_COMMAND_FAILED when the policy''s pre command fails, and runs its post command' {
        $marker = Join-Path $root 'policy-fail.marker'
        $pre = New-TestScript -Name 'pre-policy-fail.sh' -Body 'echo "lock not granted"; exit 2'
        $null = New-TestPolicy 'failinghook' $pre (New-PostScript $marker) | Set-AzBackupPolicy -StorePassphrase -Passphrase $pp
        $before = Get-PointCount
        { Start-AzBackup -PolicyName failinghook -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_PRE_COMMAND_FAILED,Start-AzBackup' -ExpectedMessage '*lock not granted*'
        Get-PointCount | Should -Be $before
        Get-Content -LiteralPath $marker | Should -BeLike 'post Failed * done'
        (Get-AzBackupPolicy failinghook).LastRun.Code | Should -Be 'AZB_PRE_COMMAND_FAILED'
    }

    It 'changes and removes them with Set-AzBackupPolicy' {
        $changed = Get-AzBackupPolicy withhooks | Set-AzBackupPolicy -PreCommand '/bin/true' -PostCommandTimeoutSeconds 5 -PostCommand '/bin/echo'
        $changed.PreCommand.Command | Should -Be '/bin/true'
        $changed.PreCommand.ArgumentList | Should -BeNullOrEmpty
        $changed.PostCommand.TimeoutSeconds | Should -Be 5
        $removed = Get-AzBackupPolicy withhooks | Set-AzBackupPolicy -RemovePreCommand -RemovePostCommand
        $removed.PreCommand | Should -BeNullOrEmpty
        $removed.PostCommand | Should -BeNullOrEmpty
        (Get-AzBackupPolicy withhooks).PreCommand | Should -BeNullOrEmpty
    }

    It 'refuses a policy whose command time-out is out of range with AZB_POLICY_INVALID' {
        { New-AzBackupPolicy -Name badhook -PostCommand '/bin/true' -PostCommandTimeoutSeconds 100000 |
                Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data) |
                Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
                Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7) |
                Set-AzBackupPolicy -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_POLICY_INVALID,Set-AzBackupPolicy' -ExpectedMessage '*1 to 86400 seconds*'
        Get-AzBackupPolicy badhook -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
