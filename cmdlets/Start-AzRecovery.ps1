function Start-AzRecovery {
    <#
    .SYNOPSIS
        Restores a recovery point, or items of it, to their original location or to another folder.
    .DESCRIPTION
        Restores files, folders and symbolic links with their contents, permissions and times. Every
        chunk is decrypted and authenticated before it is written; a file whose data is damaged is not
        restored and gives a warning.

        Items piped from Get-AzRecoverableItem are collected, and each recovery point is restored with
        one engine call once the pipeline ends. Without -Item (e.g. when recovery points are piped in
        from Get-AzRecoveryPoint) the whole point is restored. An item inside another item that is
        restored too is restored once, with its folder.

        With -Target, items are restored below that folder under their full original path (for example
        /srv/data/a.txt goes to <Target>/srv/data/a.txt). Without it they go back to where they were; the
        points of another server (-Server) go back to those paths on this machine only with
        -OriginalLocation. The restore runs as a job (see Get-AzBackupJob).

        On Linux the restore never writes, or sets owners, modes or times, through a symbolic link it did
        not create, even when a user swaps folders for links while it runs; a -Target that is a link is
        refused (AZB_RESTORE_TARGET_LINK). On Windows this protection is not available.

        Before it writes, the restore compares the space its files need (sizes rounded to the block;
        files already there unchanged and the holes of sparse files do not count) with the free space of
        each file system it writes to, and stops with AZB_RESTORE_NO_SPACE when one is short; -Force
        restores anyway.
    .PARAMETER PointId
        Recovery point: its ID, a unique prefix of at least 6 hex digits, or 'latest'. With -Item,
        'latest' is the newest point that holds those items (as restic's latest --path); -WhatIf names
        the point it resolves to. Binds by property name from Get-AzRecoveryPoint and Get-AzRecoverableItem.
    .PARAMETER Item
        Paths inside the recovery point to restore, as in the Path of Get-AzRecoverableItem's output
        (binds by property name). Default: everything in the point.
    .PARAMETER Target
        Folder to restore into; created if needed. Default: the original location, which is High impact:
        the cmdlet asks first, unless -Confirm:$false or -Force is given. A point made from a stream
        (Start-AzBackup -FromCommand) has no original location and needs -Target.
    .PARAMETER OriginalLocation
        Restore the points of another server (-Server) to their original paths on this machine. Without it,
        such a restore needs -Target (AZB_RESTORE_TARGET_REQUIRED). Cannot be combined with -Target.
    .PARAMETER ComputerName
        Restore onto a member (Add-AzBackupMember) over SSH instead of this server: the items are streamed
        as a tar, each file verified, into GNU tar on the member, which unpacks them into -Target, an
        absolute path of a folder that exists there (it is not resolved on this server). What is there
        is overwritten; -OriginalLocation, -Conflict, -Force and -RestoreSELinuxLabel do not go with it
        (AZB_USAGE). A refused host key (AZB_MEMBER_HOST_KEY_CHANGED) or a missing folder fails before
        the vault is opened.
    .PARAMETER ProtectionGroup
        Find -PointId (latest, or an ID) among a protection group's points: in its disk vault, or with
        -Online in its Azure vault. Points piped from Get-AzRecoveryPoint -ProtectionGroup carry their
        vault and need none of this.
    .PARAMETER DataSource
        With -ProtectionGroup: latest is this data source's newest point.
    .PARAMETER Online
        With -ProtectionGroup: restore from the group's online copy.
    .PARAMETER Conflict
        What to do when an item to restore already exists: OverwriteIfChanged (the default in place:
        replace files that differ from the backed-up version), CreateCopy (the default into -Target;
        restore as "name (1).ext"), Overwrite, or Skip. A file identical to the backed-up one (same size,
        time, digest and mode, and owner when run as root) is left as it is under CreateCopy and OverwriteIfChanged. Folders that already exist keep their owner, mode and times unless Overwrite
        is given; Overwrite never replaces a folder with a file (that item is skipped with a warning).
    .PARAMETER PreserveSetuid
        Keep the setuid and setgid bits of restored files. Without it they are cleared (one log line, shown
        with -Verbose, says how many).
    .PARAMETER RestoreSELinuxLabel
        Also set SELinux labels (the security.selinux extended attribute) from the recovery point (Linux).
        Without it they are left to the system's policy (one log line, shown with -Verbose, says how many).
        Other extended attributes (user.*, POSIX ACLs, file capabilities) are always restored; those in
        trusted.* and security.* only when the restore runs as root (warning AZB_RESTORE_XATTR_SKIPPED).
    .PARAMETER Force
        Restore to the original location without asking, and restore even when the destination has less
        free space than the files need. Without -Force a restore that does not fit stops with
        AZB_RESTORE_NO_SPACE before it writes anything (the error states the need and the free space);
        with it, a file that meets the end of the space fails the restore with the same code and is not
        left behind, while the files restored before it stay complete (engine: --ignore-free-space).
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name.
    .PARAMETER Server
        Server that made the point: its ID, an ID prefix of at least 8 characters, or its host name.
        Default: this server. Binds by property name (ServerId).
    .PARAMETER Passphrase
        The passphrase of the server that made the point. If omitted, $env:AZBACKUP_PASSPHRASE is used
        when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Start-AzRecovery -PointId latest -ProtectionGroup web -DataSource web01:/srv/www -Online -ComputerName web01 -Target /srv/restore

        Restores the newest online point of web01's /srv/www onto web01, into /srv/restore.
    .EXAMPLE
        Get-AzRecoveryPoint | Select-Object -Last 1 | Get-AzRecoverableItem -Path /srv/data -Filter '*.docx' | Start-AzRecovery -Target /tmp/restore

        Restores the Word documents of the newest point into /tmp/restore.
    .EXAMPLE
        Start-AzRecovery -PointId latest -Conflict Overwrite -Confirm:$false

        Puts everything in the newest point back where it was, replacing existing files.
    .EXAMPLE
        Start-AzRecovery -PointId 3fa9c1 -Item /etc/nginx -Target /tmp/nginx-restore -WhatIf

        Shows what would be restored, without writing anything.
    .OUTPUTS
        AzBackup.RestoreResult
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.RestoreResult')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$PointId,

        [Parameter(Position = 1, ValueFromPipelineByPropertyName)]
        [Alias('Path')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Item,

        [ValidateNotNullOrEmpty()]
        [string]$Target,

        [switch]$OriginalLocation,

        [Alias('Member')]
        [ValidateNotNullOrEmpty()]
        [string]$ComputerName,

        [ValidateNotNullOrEmpty()]
        [string]$ProtectionGroup,

        [ValidateNotNullOrEmpty()]
        [string]$DataSource,

        [switch]$Online,

        [ValidateSet('Overwrite', 'OverwriteIfChanged', 'Skip', 'CreateCopy')]
        [string]$Conflict,

        [switch]$PreserveSetuid,

        [switch]$RestoreSELinuxLabel,

        [switch]$Force,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    begin {
        # One restore per recovery point (and vault and server), in the order the points first came.
        $restores = [System.Collections.Specialized.OrderedDictionary]::new()
    }
    process {
        $key = "$PointId|$Vault|$Server"
        if (-not $restores.Contains($key)) {
            $restores[$key] = [pscustomobject]@{ PointId = $PointId; Vault = $Vault; Server = $Server; Whole = $false; Items = [System.Collections.Generic.List[string]]::new() }
        }
        $restore = $restores[$key]
        if ($Item) { foreach ($path in $Item) { $restore.Items.Add($path) } } else { $restore.Whole = $true }
    }
    end {
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        foreach ($restore in $restores.Values) {
            $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $restore.Vault -Server $restore.Server
            $arguments.point = $restore.PointId
            # A member's folder is the member's path, not one of this server's locations.
            if ($Target) { $arguments.target = if ($ComputerName) { $Target } else { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Target) } }
            if ($ComputerName) { $arguments.toMember = $ComputerName }
            if ($ProtectionGroup) { $arguments.group = $ProtectionGroup }
            if ($DataSource) { $arguments.dataSource = $DataSource }
            if ($Online) { $arguments.online = $true }
            if ($OriginalLocation) { $arguments.originalLocation = $true }
            if ($Conflict) { $arguments.conflict = $Conflict }
            if ($PreserveSetuid) { $arguments.preserveSetuid = $true }
            # -Force overrides what would stop the restore: the prompt below, and the free-space check.
            if ($Force) { $arguments.ignoreFreeSpace = $true }
            if ($RestoreSELinuxLabel) { $arguments.restoreSelinuxLabels = $true }
            $what = 'everything'
            if (-not $restore.Whole) {
                # The engine restores an item once even when it lies inside another selected item.
                $arguments.items = @($restore.Items)
                $what = if ($restore.Items.Count -eq 1) { $restore.Items[0] } else { "$($restore.Items.Count) items" }
            }
            $where = if ($ComputerName) { "to $($arguments.target) on member $ComputerName" } elseif ($Target) { "to $($arguments.target)" } else { 'to the original location' }
            $shown = "recovery point $($restore.PointId)"
            if ($WhatIfPreference -and $restore.PointId -eq 'latest') {
                # Name the point 'latest' stands for (scoped by the items, as the restore itself scopes it).
                $probe = $arguments.Clone()
                foreach ($k in 'target', 'originalLocation', 'conflict', 'preserveSetuid', 'ignoreFreeSpace', 'items', 'toMember') { $probe.Remove($k) }
                if (-not $restore.Whole) { $probe.path = $restore.Items[0] }
                $first = Invoke-AzBackupEngine -Command 'ls' -Arguments $probe -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Items | Select-Object -First 1
                if ($first) { $shown = "recovery point latest ($($first.PointId.Substring(0, 12))…)" }
            }
            if ($PSCmdlet.ShouldProcess($shown, "Restore $what $where")) {
                # In place is High impact: existing files at the original paths are at stake.
                $quiet = $Force -or ($PSBoundParameters.ContainsKey('Confirm') -and -not $PSBoundParameters['Confirm'])
                if (-not $Target -and -not $ComputerName -and -not $quiet -and -not $PSCmdlet.ShouldContinue("Restore $what of $shown to its original location on this machine? Existing files there are handled by -Conflict ($(if ($Conflict) { $Conflict } else { 'OverwriteIfChanged' })).", 'Restore to the original location (High impact)')) {
                    continue
                }
                Invoke-AzBackupEngine -Command 'restore' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
            }
        }
    }
}
