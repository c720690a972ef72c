function Start-AzBackup {
    <#
    .SYNOPSIS
        Backs up files and folders, or the output of a command, into a new recovery point.
    .DESCRIPTION
        Reads the given files and folders, splits them into content-defined chunks, and stores only the
        chunks the vault does not have yet: compressed, then encrypted with this server's passphrase.
        Files unchanged since the last backup are recognised from the cache and not read again. The new
        recovery point records every file, folder and symbolic link with its metadata, and is signed
        with this server's certificate key. The backup runs as a job (see Get-AzBackupJob).

        With -FromCommand, the standard output of a native command (a database dump, an archive) is
        backed up as one file named -StreamName, without a temporary file. If the command ends with a
        non-zero exit code, the backup is stopped, no recovery point is written, and an error
        AZB_SOURCE_COMMAND_FAILED names the command and its exit code. The command's error output is
        shown with -Verbose.

        Files that cannot be read are skipped with a warning; the job then ends CompletedWithWarnings.

        With -PreCommand and -PostCommand, an application is quiesced around the read (what VSS writers
        do on Windows): inside the job, under the backup lock, the pre command runs first and the files
        are walked and read only after it succeeded; the post command runs after the read, and always
        once the pre command has started (also when the backup fails or is stopped). A pre command that
        fails (non-zero exit code, not found, time-out) stops the backup with AZB_PRE_COMMAND_FAILED and
        the job is Failed; a failed post command is the warning AZB_POST_COMMAND_FAILED. Each command is
        an executable with arguments (no shell, as -FromCommand); on time-out its whole process group
        is killed. Their output goes to the job's command log (Get-AzBackupJob shows CommandLogPath) and
        to -Verbose. They get the environment without AzBackup's variables and secrets, plus
        AZBACKUP_JOB_ID, AZBACKUP_PHASE (pre or post) and, for the post command, AZBACKUP_STATUS
        (Succeeded: the data was read; Failed; Cancelled). With -FromCommand the source command is
        started by this cmdlet before the engine runs the pre command: use a policy's command when the
        pre command must run first.
    .PARAMETER Path
        Files and folders to back up. Relative paths are resolved against the current location, and
        wildcards expand (/srv/*/data); a name that exists as written is taken literally. A pattern
        that matches nothing stops with AZB_SOURCE_NOT_FOUND before anything is backed up. Accepts
        pipeline input (strings, or FullName from Get-ChildItem); all of it goes into one
        recovery point. May be left out when -FilesFrom names the sources.
    .PARAMETER Exclude
        Globs of paths or names to leave out, e.g. '*.tmp' or '/srv/data/cache', as restic reads them.
        A pattern that starts with / matches the whole path; any other matches the last parts of a path
        at any depth. * ? [...] and ** work; dot-files are not special ('*.tmp' matches '.cache.tmp');
        braces and parentheses are ordinary characters; a leading ! is refused. A pattern that starts
        with ./ or ../ is relative to the current location, as -Path is. A backup whose patterns leave no
        file warns (AZB_EVERYTHING_EXCLUDED). See about_AzBackup and the README, "Globs".
    .PARAMETER ExcludeFile
        Files of exclude patterns, one a line, as restic's --exclude-file: each line is trimmed; blank
        lines and lines that start with # are ignored; $VAR is not expanded. UTF-8 (a BOM is allowed) or
        UTF-16 with a BOM. A missing file stops with AZB_FILE_NOT_FOUND, a refused pattern with
        AZB_ARGS_INVALID naming the file and line; nothing is backed up then.
    .PARAMETER FilesFrom
        Files that list what to back up, one path or glob a line, as restic's --files-from: lines are
        trimmed, blank lines and # comments ignored; a line that names an existing path is taken as it
        is, otherwise * ? [...] expand within each folder of the path; relative lines are relative to
        the current location. A line that matches nothing gives the warning AZB_FILES_FROM_NO_MATCH; a
        list that names nothing that exists stops with AZB_SOURCE_NOT_FOUND. Adds to -Path.
    .PARAMETER ExcludeCaches
        Leave out what is in folders marked as caches by a CACHEDIR.TAG file that starts with
        'Signature: 8a477f597d28d172789f06886806bc55' (https://bford.info/cachedir/). As in restic, the
        folder and its tag are kept, so the restored folder is still marked. A tag that is a symbolic link
        is not followed.
    .PARAMETER OneFileSystem
        Do not cross into other file systems mounted below the sources (compared by device, as restic's
        --one-file-system). A mount point is kept as an empty folder; the result's OtherFileSystems names
        each one (and -Verbose logs them). A source that is itself on another file system is backed up.
    .PARAMETER Snapshot
        How the files are read. Auto (the default): from a snapshot where one can be made (a btrfs
        subvolume, the snapshot provider of Set-AzBackupMachineSetting -SnapshotCreateCommand, a VSS
        shadow copy on Windows), so every file of a source is read as it was at one moment; a source
        without a snapshot method is read live, and the point says so (Reads); a snapshot that fails is
        the warning AZB_SNAPSHOT_FAILED, and the source is read live. Required: without a snapshot the
        backup stops before reading (AZB_SNAPSHOT_UNAVAILABLE, or AZB_SNAPSHOT_FAILED). None: live
        reads. The snapshot is removed afterwards, also when the backup fails or is stopped. Mounts and
        nested btrfs subvolumes below a source are not in its snapshot: they are read live, with the
        warning AZB_SNAPSHOT_PARTIAL. On Windows this cmdlet makes the shadow copy through CIM
        (Win32_ShadowCopy) for the -Path sources (not for -FilesFrom lists, which the engine reads); that
        has not yet run on Windows. See about_AzBackup and the README, "Snapshot-consistent reads".
    .PARAMETER Tag
        Tags for the recovery point (letters, digits and . _ : -, up to 64 characters each), to find it
        later with Get-AzRecoveryPoint -Tag.
    .PARAMETER FromCommand
        Native command (a program on the PATH, or the path of an executable) whose standard output is
        backed up as one file.
    .PARAMETER ArgumentList
        Arguments of -FromCommand, passed as they are (no shell is involved).
    .PARAMETER StreamName
        File name of the backed-up output in the recovery point, e.g. 'mydb.sql'.
    .PARAMETER PreCommand
        Program (on the PATH, or a path) to run before anything is read; a failure stops the backup
        (AZB_PRE_COMMAND_FAILED). Not run by a shell: give a script file for pipelines and redirections.
    .PARAMETER PreArgumentList
        Arguments of -PreCommand, passed as they are.
    .PARAMETER PreCommandTimeoutSeconds
        Seconds -PreCommand may run (1 to 86400; default 600) before its process group is killed and the
        backup fails.
    .PARAMETER PostCommand
        Program to run after the data is read; it always runs once the pre command has started. A
        failure is the warning AZB_POST_COMMAND_FAILED.
    .PARAMETER PostArgumentList
        Arguments of -PostCommand, passed as they are.
    .PARAMETER PostCommandTimeoutSeconds
        Seconds -PostCommand may run (1 to 86400; default 600) before its process group is killed.
    .PARAMETER Policy
        Back up now by this policy (from Get-AzBackupPolicy; piped objects go to -Path): its file specs or
        command, into its vault; its retention is enforced afterwards, and the job carries its name.
        Without -Passphrase the passphrase stored for unattended runs is used.
    .PARAMETER PolicyName
        Back up now by the saved policy of this name, as -Policy does.
    .PARAMETER RetainUntil
        A backup without a policy is kept until it is removed; with -RetainUntil, the retention of the
        next policy run (or prune by policy) may expire it after this date (the agent's "back up now"
        retention).
    .PARAMETER AccessTier
        Azure vaults only: the access tier of the packs this backup writes (Hot, Cool or Cold), as
        --access-tier does. Cool and Cold cost less to keep and more to read; Archive is not offered,
        since a restore could not read it at once.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one).
    .PARAMETER Passphrase
        This server's passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .PARAMETER CacheDirectory
        Cache location. Default: $env:AZBACKUP_CACHE, else the cache folder in the AzBackup home.
    .EXAMPLE
        Start-AzBackup -Path /srv/data, /etc -Exclude '*.tmp' -Passphrase $passphrase

        Backs up two folders, leaving out temporary files, and shows the new recovery point.
    .EXAMPLE
        Start-AzBackup -FilesFrom /etc/azbackup/sources.txt -ExcludeFile /etc/azbackup/excludes.txt -ExcludeCaches -OneFileSystem

        Backs up what sources.txt lists, without what excludes.txt names, without cache folders' contents,
        and without crossing into other mounted file systems.
    .EXAMPLE
        Start-AzBackup -Path /srv/app -Snapshot Required

        Backs up /srv/app (on btrfs, or with a snapshot provider) from a snapshot, so that every file is
        from one moment; stops with AZB_SNAPSHOT_UNAVAILABLE where no snapshot can be made.
    .EXAMPLE
        Start-AzBackup -FromCommand pg_dump -ArgumentList 'mydb' -StreamName mydb.sql -Tag nightly

        Backs up a database dump straight from pg_dump's output, with the passphrase from
        $env:AZBACKUP_PASSPHRASE.
    .EXAMPLE
        Start-AzBackup -Path /var/lib/app -PreCommand /usr/local/sbin/app-quiesce -PostCommand /usr/local/sbin/app-resume -PreCommandTimeoutSeconds 120

        Quiesces the application, backs up its files, and lets it go on; the scripts' output is in the
        job's CommandLogPath.
    .EXAMPLE
        Start-AzBackup -Policy (Get-AzBackupPolicy files)

        Runs the policy files now, as its schedule would, and enforces its retention.
    .EXAMPLE
        Start-AzBackup -Path /srv/data -RetainUntil (Get-Date).AddDays(14)

        A one-off backup that the next policy run may expire after two weeks.
    .EXAMPLE
        Get-ChildItem /srv/www -Directory | Start-AzBackup -Tag web -WhatIf

        Shows which folders would be backed up, without backing up anything.
    .OUTPUTS
        AzBackup.RecoveryPoint
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Path')]
    [OutputType('AzBackup.RecoveryPoint')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'Path')]
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'FilesFrom')]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Path,

        [Parameter(Mandatory, ParameterSetName = 'FilesFrom')]
        [ValidateNotNullOrEmpty()]
        [string[]]$FilesFrom,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Exclude,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [ValidateNotNullOrEmpty()]
        [string[]]$ExcludeFile,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [switch]$ExcludeCaches,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [switch]$OneFileSystem,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [ValidateSet('Auto', 'Required', 'None')]
        [string]$Snapshot,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Tag,

        [Parameter(Mandatory, ParameterSetName = 'Policy')]
        [PSTypeName('AzBackup.Policy')]$Policy,

        [Parameter(Mandatory, ParameterSetName = 'PolicyName')]
        [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')]
        [string]$PolicyName,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [datetime]$RetainUntil,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [ValidateSet('Hot', 'Cool', 'Cold')]
        [string]$AccessTier,

        [Parameter(Mandatory, ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$FromCommand,

        [Parameter(ParameterSetName = 'Command')]
        [AllowEmptyCollection()]
        [string[]]$ArgumentList = @(),

        [Parameter(Mandatory, ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$StreamName,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$PreCommand,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [string[]]$PreArgumentList,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [int]$PreCommandTimeoutSeconds,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$PostCommand,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [string[]]$PostArgumentList,

        [Parameter(ParameterSetName = 'Path')]
        [Parameter(ParameterSetName = 'FilesFrom')]
        [Parameter(ParameterSetName = 'Command')]
        [int]$PostCommandTimeoutSeconds,


        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [ValidateNotNullOrEmpty()]
        [string]$CacheDirectory
    )
    begin {
        $paths = [System.Collections.Generic.List[string]]::new()
    }
    process {
        foreach ($item in $Path) {
            $full = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($item)
            # Wildcards expand as PowerShell users expect (/srv/*/data); a name that exists as written
            # (brackets are legal in file names) is taken literally.
            if (-not [System.Management.Automation.WildcardPattern]::ContainsWildcardCharacters($item) -or (Test-Path -LiteralPath $full)) {
                $paths.Add($full)
                continue
            }
            $matched = @(Resolve-Path -Path $item -ErrorAction SilentlyContinue | ForEach-Object { $_.ProviderPath })
            if ($matched.Count -eq 0) {
                $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_SOURCE_NOT_FOUND' -Category 'ObjectNotFound' -Target $item `
                    -Message "No file or folder matches '$item'." -Hint 'Check the path and its wildcards; nothing was backed up.'))
            }
            foreach ($m in $matched) { $paths.Add($m) }
        }
        if ($PSCmdlet.ParameterSetName -in 'Policy', 'PolicyName') {
            $name = if ($Policy) { $Policy.Name } else { $PolicyName }
            $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -CacheDirectory $CacheDirectory
            $arguments.name = $name
            # Without a passphrase here, the engine uses the one stored for the policy's runs.
            $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
            if ($PSCmdlet.ShouldProcess("policy $name", 'Back up now, then enforce its retention')) {
                Invoke-AzBackupEngine -Command 'policy.run' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Items
            }
        }
    }
    end {
        if ($PSCmdlet.ParameterSetName -in 'Policy', 'PolicyName') { return }
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -CacheDirectory $CacheDirectory
        if ($Tag) { $arguments.tags = @($Tag) }
        if ($PSBoundParameters.ContainsKey('RetainUntil')) { $arguments.retainUntil = $RetainUntil.ToUniversalTime().ToString('o') }
        if ($AccessTier) { $arguments.accessTier = $AccessTier }
        $pre = New-AzBackupHookCommand -Caller $PSCmdlet -Phase Pre -Command $PreCommand -ArgumentList $PreArgumentList `
            -TimeoutSeconds $(if ($PSBoundParameters.ContainsKey('PreCommandTimeoutSeconds')) { $PreCommandTimeoutSeconds })
        $post = New-AzBackupHookCommand -Caller $PSCmdlet -Phase Post -Command $PostCommand -ArgumentList $PostArgumentList `
            -TimeoutSeconds $(if ($PSBoundParameters.ContainsKey('PostCommandTimeoutSeconds')) { $PostCommandTimeoutSeconds })
        if ($pre) { $arguments.preCommand = $pre }
        if ($post) { $arguments.postCommand = $post }
        $around = (@(if ($pre) { "after running $PreCommand" }) + @(if ($post) { "then running $PostCommand" })) -join ', '
        if ($around) { $around = " ($around)" }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        $target = if ($arguments.vault) { $arguments.vault } else { 'the vault this server is registered with' }
        if ($PSCmdlet.ParameterSetName -eq 'Command') {
            $arguments.stdinName = $StreamName
            $commandLine = (@($FromCommand) + $ArgumentList) -join ' '
            if ($PSCmdlet.ShouldProcess($target, "Back up the output of '$commandLine' as $StreamName$around")) {
                Invoke-AzBackupEngine -Command 'backup' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result `
                    -InputCommand $FromCommand -InputArgumentList $ArgumentList
            }
        } else {
            if ($paths.Count -eq 0 -and -not $FilesFrom) { return }
            $arguments.paths = @($paths)
            # List files, like -Path, are relative to the current location; the engine reads them.
            if ($FilesFrom) { $arguments.filesFrom = @($FilesFrom | ForEach-Object { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($_) }) }
            if ($ExcludeFile) { $arguments.excludeFile = @($ExcludeFile | ForEach-Object { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($_) }) }
            if ($ExcludeCaches) { $arguments.excludeCaches = $true }
            if ($OneFileSystem) { $arguments.oneFileSystem = $true }
            if ($Exclude) {
                # ./x and ../x mean what they mean for -Path: relative to the current location.
                $arguments.exclude = @($Exclude | ForEach-Object {
                    if ($_ -match '^\.\.?[\\/]') { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($_) } else { $_ }
                })
            }
            if ($Snapshot) { $arguments.snapshot = $Snapshot }
            $what = @($paths) + @($arguments.filesFrom | Where-Object { $_ } | ForEach-Object { "the paths listed in $_" })
            # On Windows the module judges the volumes before anything is made or read (the engine does
            # so on Linux, inside the job).
            if ($paths.Count -gt 0 -and (Test-AzBackupIsWindows)) {
                try { Assert-AzBackupSourceEligible -Path @($paths) } catch { $PSCmdlet.ThrowTerminatingError($_) }
            }
            $vss = $Snapshot -ne 'None' -and $paths.Count -gt 0 -and (Test-AzBackupVssPlatform)
            if ($vss -and $pre) {
                # The shadow copy is made here, before the engine starts, so a pre command would run after
                # it and quiesce nothing: refused rather than a snapshot that only looks consistent.
                $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_ARGS_INVALID' -Category 'InvalidArgument' -Target 'PreCommand' `
                    -Message 'On Windows the VSS shadow copy is made before the engine runs -PreCommand, so the pre command could not quiesce what the shadow copy holds.' `
                    -Hint 'Use -Snapshot None with -PreCommand/-PostCommand, or back up the application''s dump with -FromCommand.'))
            }
            if ($PSCmdlet.ShouldProcess($target, "Back up $($what -join ', ')$around")) {
                # Windows: the engine reads VSS shadow copies this cmdlet makes, and records the original paths.
                $shadow = $null
                if ($vss) {
                    try {
                        $shadow = New-AzBackupShadowCopy -Path @($paths)
                        $arguments.readFrom = @($shadow.ReadFrom)
                    } catch {
                        $message = "The VSS shadow copy of $($paths -join ', ') failed: $($_.Exception.Message)."
                        if ($Snapshot -eq 'Required') {
                            $PSCmdlet.ThrowTerminatingError((New-AzBackupErrorRecord -Code 'AZB_SNAPSHOT_FAILED' -Category 'ResourceUnavailable' -Target $paths[0] `
                                -Message "-Snapshot Required, and $message Nothing was read." -Hint 'Check that the Volume Shadow Copy service runs and the volume has shadow storage (vssadmin list shadowstorage), or back up with -Snapshot Auto.'))
                        }
                        $PSCmdlet.WriteWarning("AZB_SNAPSHOT_FAILED: $message The sources are read live: files that change during the backup are not from one moment.")
                    }
                }
                try {
                    Invoke-AzBackupEngine -Command 'backup' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
                } finally {
                    if ($shadow) { Remove-AzBackupShadowCopy -ShadowCopy $shadow.Copies }
                }
            }
        }
    }
}
