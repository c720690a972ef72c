function Set-AzBackupPolicy {
    <#
    .SYNOPSIS
        Saves a policy, activates it and registers its schedule with the OS scheduler.
    .DESCRIPTION
        The engine checks every limit (at most 3 times a day, 1 to 30 daily days, long-term tiers
        within theirs, no overlapping file specs) and refuses the policy with a coded error that says
        the limit. Saving the same policy again changes nothing and succeeds, so scripts (DSC, Group
        Policy) can run it every time. A new policy whose name is taken is refused
        (AZB_POLICY_EXISTS); change a saved one by piping it from Get-AzBackupPolicy.

        The schedule goes to systemd (a .service and a .timer, Persistent=true) where systemd is the
        init system, else to /etc/cron.d; on Windows, to Task Scheduler. Runs start as root (SYSTEM)
        and need the passphrase: -StorePassphrase keeps it on this server only, encrypted with
        systemd-creds where systemd runs the schedule, on Windows with DPAPI (machine scope), else in a
        root-only 0600 file, and says where.

        When a saved policy's new retention would expire recovery points, it says how many and asks
        first (High impact); -Force answers yes.
    .PARAMETER Policy
        The policy (New-AzBackupPolicy or Get-AzBackupPolicy), from the pipeline.
    .PARAMETER StorePassphrase
        Store the passphrase for unattended runs (checked against the vault first).
    .PARAMETER Passphrase
        The server's passphrase (else $env:AZBACKUP_PASSPHRASE): needed by -StorePassphrase, and to
        count the points a shorter retention expires.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .PARAMETER Snapshot
        Change how its runs read the file specs before it is saved: Auto, Required or None (see
        New-AzBackupPolicy -Snapshot and Start-AzBackup -Snapshot).
    .PARAMETER PreCommand
        Program (on the PATH, or a path) the policy's runs run before anything is read, to quiesce an
        application; a failure stops that run (AZB_PRE_COMMAND_FAILED). No shell is involved.
    .PARAMETER PreArgumentList
        Arguments of -PreCommand, passed as they are.
    .PARAMETER PreCommandTimeoutSeconds
        Seconds -PreCommand may run (1 to 86400; default 600) before its process group is killed.
    .PARAMETER PostCommand
        Program the runs run after the data is read, and always once the pre command has started; a
        failure is the warning AZB_POST_COMMAND_FAILED.
    .PARAMETER PostArgumentList
        Arguments of -PostCommand, passed as they are.
    .PARAMETER PostCommandTimeoutSeconds
        Seconds -PostCommand may run (1 to 86400; default 600) before its process group is killed.
    .PARAMETER RemovePreCommand
        Save the policy without its pre command.
    .PARAMETER RemovePostCommand
        Save the policy without its post command.
    .PARAMETER Force
        Do not ask before a retention change that expires points.
    .EXAMPLE
        $policy | Set-AzBackupPolicy -StorePassphrase -Passphrase (Read-Host -AsSecureString)

        Saves and schedules the policy, storing the passphrase for its runs.
    .EXAMPLE
        Get-AzBackupPolicy files | Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7) | Set-AzBackupPolicy -Force

        Shortens the retention without asking.
    .EXAMPLE
        Get-AzBackupPolicy db | Set-AzBackupPolicy -PreCommand /usr/local/sbin/app-quiesce -PreArgumentList db -PostCommand /usr/local/sbin/app-resume

        Adds pre and post commands to a saved policy.
    .OUTPUTS
        AzBackup.Policy
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.Policy')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)]
        [object]$Policy,

        [switch]$StorePassphrase,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [ValidateSet('Auto', 'Required', 'None')]
        [string]$Snapshot,

        [switch]$Force,

        [ValidateNotNullOrEmpty()]
        [string]$PreCommand,

        [string[]]$PreArgumentList,

        [int]$PreCommandTimeoutSeconds,

        [ValidateNotNullOrEmpty()]
        [string]$PostCommand,

        [string[]]$PostArgumentList,

        [int]$PostCommandTimeoutSeconds,

        [switch]$RemovePreCommand,

        [switch]$RemovePostCommand
    )
    process {
        Assert-AzBackupPolicyObject -Caller $PSCmdlet -Policy $Policy
        if ($Snapshot) { $Policy | Add-Member -NotePropertyName Snapshot -NotePropertyValue $Snapshot -Force }
        $document = ConvertFrom-AzBackupPolicyObject -Policy $Policy
        # On Windows the module judges the volumes (the engine does so on Linux): a file spec on a volume
        # AzBackup refuses stops the save; a missing path only warns, as the engine does.
        $specPaths = @($document.fileSpecs | Where-Object { $_ } | ForEach-Object { $_.path })
        if ($specPaths.Count -gt 0 -and (Test-AzBackupIsWindows)) {
            $present = @($specPaths | Where-Object { Test-Path -LiteralPath $_ })
            if ($present.Count -gt 0) {
                try { Assert-AzBackupSourceEligible -Path $present } catch { $PSCmdlet.ThrowTerminatingError($_) }
            }
        }
        $pre = New-AzBackupHookCommand -Caller $PSCmdlet -Phase Pre -Command $PreCommand -ArgumentList $PreArgumentList `
            -TimeoutSeconds $(if ($PSBoundParameters.ContainsKey('PreCommandTimeoutSeconds')) { $PreCommandTimeoutSeconds })
        $post = New-AzBackupHookCommand -Caller $PSCmdlet -Phase Post -Command $PostCommand -ArgumentList $PostArgumentList `
            -TimeoutSeconds $(if ($PSBoundParameters.ContainsKey('PostCommandTimeoutSeconds')) { $PostCommandTimeoutSeconds })
        if ($RemovePreCommand) { $document.Remove('preCommand') }
        if ($RemovePostCommand) { $document.Remove('postCommand') }
        if ($pre) { $document.preCommand = $pre }
        if ($post) { $document.postCommand = $post }
        $replace = $Policy.State -ne 'New'
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $arguments = @{ policy = $document }
        if ($replace) { $arguments.replace = $true }
        # A saved policy: first learn how many points the new retention would expire, and ask.
        if ($replace -and ($secrets.passphrase -or $PassphraseFile)) {
            $preview = Invoke-AzBackupEngine -Command 'policy.set' -Arguments ($arguments + @{ whatIf = $true }) -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result -SuppressWarnings
            if ($null -eq $preview) { return }
            $expiring = [int]$preview.PointsExpiring
            if ($expiring -gt 0 -and -not $Force -and -not $WhatIfPreference) {
                $question = "The new retention of policy $($Policy.Name) expires $expiring recovery point(s) at its next run (recoverable for 14 days with Restore-AzRecoveryPoint). Save it?"
                if (-not $PSCmdlet.ShouldContinue($question, 'Shorten retention (High impact)')) { return }
            }
        }
        if ($StorePassphrase) { $arguments.storePassphrase = $true }
        $times = (ConvertTo-AzBackupTimeText $Policy.Schedule.TimesOfDay) -join ', '
        if ($PSCmdlet.ShouldProcess("policy $($Policy.Name)", "Save and schedule ($($Policy.Schedule.DaysOfWeek -join ', ') at $times)")) {
            Invoke-AzBackupEngine -Command 'policy.set' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result | ConvertTo-AzBackupPolicyObject | Sync-AzBackupPolicyTask -Caller $PSCmdlet
        }
    }
}
