# The table and list views of module/AzBackup.Format.ps1xml: every view is used, fits 80 columns, and
# shows its values (too wide fixed widths make PowerShell print rows without values).
BeforeDiscovery {
    $script:samples = @(
        @{ Kind = 'Vault'; Shape = 'List'; Shown = 'VaultId'; Data = @{ vaultId = '0f67f40bc1d35cd17cb81c0e3e11a589'; vault = '/mnt/backup/vault'; formatVersion = 1; created = [datetime]::UtcNow } }
        @{ Kind = 'VaultCertificate'; Shape = 'Table'; Shown = 'E4BA2FD4099BCB4BCD671FAA0BEAD53D5DA226E6'; Data = @{ thumbprint = 'E4BA2FD4099BCB4BCD671FAA0BEAD53D5DA226E6'; subject = 'CN=srv01, O=Contoso'; notBefore = [datetime]::UtcNow; notAfter = [datetime]::UtcNow.AddDays(365); keySize = 2048; vault = '/v'; uploaded = $true } }
        @{ Kind = 'Server'; Shape = 'Table'; Shown = '6e5f97dae9c4'; Data = @{ serverId = '6e5f97dae9c4d460c58c9b2b140f8cb689f9f530237c05d92623ecc0030c7d16'; hostname = 'srv01'; created = [datetime]::UtcNow; certificate = 'E4BA2FD4099BCB4BCD671FAA0BEAD53D5DA226E6'; proofValid = $true; thisServer = $true; vault = '/v' } }
        @{ Kind = 'RecoveryPoint'; Shape = 'Table'; Shown = 'fe48b0c78099 '; Data = @{ pointId = 'fe48b0c78099c4753704e1aced90a6d2925b63605dea69e760713926f91d837b'; serverId = '6e5f97dae9c4d460c58c9b2b140f8cb689f9f530237c05d92623ecc0030c7d16'; hostname = 'srv01'; time = [datetime]::UtcNow; sources = @('/srv/data', '/etc'); tags = @(); filesNew = 1234; filesChanged = 0; filesUnchanged = 0; filesSkipped = 0; dirs = 3; bytesRead = 1; bytesAdded = 123456789; bytesStored = 1; blobsAdded = 1; durationMs = 1; vault = '/v' } }
        @{ Kind = 'RecoverableItem'; Shape = 'Table'; Shown = '/srv/data/reports/2024/q1.docx'; Data = @{ pointId = 'fe48b0c78099c4753704e1aced90a6d2925b63605dea69e760713926f91d837b'; serverId = 'x'; vault = '/v'; path = '/srv/data/reports/2024/q1.docx'; name = 'q1.docx'; type = 'file'; size = 48213; mode = 420; modified = [datetime]::UtcNow } }
        @{ Kind = 'RestoreResult'; Shape = 'List'; Shown = '/tmp/restore'; Data = @{ files = 3; dirs = 1; symlinks = 0; bytes = 10; skipped = 0; copies = 0; verified = 3; unverified = 0; verifyFailed = 0; durationMs = 5; unchanged = 2; packsRead = 4; pointId = 'fe48b0c78099c4753704e1aced90a6d2925b63605dea69e760713926f91d837b'; target = '/tmp/restore'; vault = '/v' } }
        @{ Kind = 'CheckProblem'; Shape = 'Table'; Shown = 'packs/f7/f7265dc8f26d'; Data = @{ object = 'servers/6e5f97dae9c4d460c58c9b2b140f8cb689f9f530237c05d92623ecc0030c7d16/packs/f7/f7265dc8f26db4761518e1fcf213ddad52512c669c0265528528df11ed7a5bc8'; problem = '1 blob(s) fail authentication'; affectedPoints = @('a', 'b'); affectedFiles = @('/srv/data/a.txt') } }
        @{ Kind = 'CheckResult'; Shape = 'List'; Shown = 'Problems'; Data = @{ serverId = '6e5f97dae9c4d460c58c9b2b140f8cb689f9f530237c05d92623ecc0030c7d16'; indexFiles = 1; packs = 2; points = 3; trees = 4; blobsReferenced = 5; packsRead = 2; bytesRead = 6; filesVerified = 7; pointsUnverifiable = 0; problems = 0; readDataPercent = 100; vault = '/v' } }
        @{ Kind = 'PruneResult'; Shape = 'List'; Shown = 'BytesFreed'; Data = @{ points = 1; packsKept = 1; packsDeleted = 2; bytesFreed = 3; indexFilesDeleted = 1; dryRun = $false; vault = '/v' } }
        @{ Kind = 'Job'; Shape = 'Table'; Shown = '20261125T111708-b0d073a8 Backup    CompletedWithWarnings'; Data = @{ jobId = '20261125T111708-b0d073a8'; operation = 'Backup'; status = 'CompletedWithWarnings'; vault = '/v'; serverId = ''; startTime = [datetime]::UtcNow; endTime = [datetime]::UtcNow; pid = 1; hostname = 'h'; stats = @{}; errors = @(); warnings = 0 } }
        @{ Kind = 'SourceVerdict'; Shape = 'Table'; Shown = 'AZB_SOURCE_FILE_SYSTEM   tmpfs      /run'; Data = @{ path = '/run/user/1000/data'; eligible = $false; reason = 'FileSystem'; code = 'AZB_SOURCE_FILE_SYSTEM'; message = 'm'; hint = 'h'; mountPoint = '/run'; fileSystem = 'tmpfs'; device = 'tmpfs' } }
        @{ Kind = 'Member'; Shape = 'Table'; Shown = 'backup@db01.contoso.com:22'; Data = @{ name = 'db01'; host = 'db01.contoso.com'; port = 22; user = 'backup'; identityFile = '/root/.ssh/azbackup_ed25519'; hostKeyFingerprints = @('SHA256:Xb3gq0VdT0x3fZyHkBmH1r8e0zVn2t6B8p5cYw6Jd1o'); hostKeyTrust = 'Fingerprint'; added = [datetime]::UtcNow } }
        @{ Kind = 'MemberTest'; Shape = 'Table'; Shown = 'db01         10.0.0.5                22 True Member db01'; Data = @{ name = 'db01'; host = '10.0.0.5'; port = 22; ok = $true; message = 'Member db01 (backup@10.0.0.5:22) answered over ssh with its trusted host key.' } }
        @{ Kind = 'RemovedMember'; Shape = 'Table'; Shown = 'db01                                    1'; Data = @{ name = 'db01'; knownHostKeysRemoved = 1 } }
        @{ Kind = 'DataSource'; Shape = 'List'; Shown = '1.4 MiB of 850.0 GiB'; Data = @{ name = 'web01:/srv/www'; group = 'web'; member = 'web01'; kind = 'Files'; path = '/srv/www'; added = [datetime]::UtcNow; diskPoint = [pscustomobject]@{ id = 'fe48b0c78099'; time = [datetime]::UtcNow; sizeBytes = 1500000 }; diskPoints = 3; maxDiskPoints = 64; onlinePoint = $null; onlinePoints = 0; sizeBytes = 1500000; sizeLimitBytes = 912680550400; overSizeLimit = $false; lastError = [pscustomobject]@{ code = 'AZB_MEMBER_UNREACHABLE'; message = 'Member web01 cannot be reached.'; time = [datetime]::UtcNow; phase = 'Disk' } } }
        @{ Kind = 'OnlineCopy'; Shape = 'List'; Shown = 'db01:shop.db: Copied, 2 pack(s), 700123 byte(s)'; Data = @{ group = 'web'; vault = 'https://contoso.blob.core.windows.net/backup'; dataSources = @([pscustomobject]@{ name = 'db01:shop.db'; status = 'Copied'; pointId = 'fe48b0c78099'; packsCopied = 2; bytesCopied = 700123 }); pointsExpired = 0; bytesFreed = 0 } }
        @{ Kind = 'RemovedDataSource'; Shape = 'List'; Shown = 'web01:/srv/www'; Data = @{ name = 'web01:/srv/www'; group = 'web'; member = 'web01'; kind = 'Files' } }
        @{ Kind = 'FleetServer'; Shape = 'Table'; Shown = 'Critical srv01                never'; Data = @{ serverId = '6e5f97dae9c4d460c58c9b2b140f8cb689f9f530237c05d92623ecc0030c7d16'; hostname = 'srv01'; status = 'Critical'; reason = 'No recovery point since it registered 3.0 days ago.'; codes = @('AZB_BACKUP_NEVER'); registered = [datetime]::UtcNow; certificate = 'E4BA2FD4099BCB4BCD671FAA0BEAD53D5DA226E6'; certificateExpires = [datetime]::UtcNow.AddDays(300); proofValid = $true; lastPoint = $null; ageHours = $null; pointCount = 0; packCount = 0; storedBytes = 0; bytesPerDay7 = 0; bytesPerDay30 = 0; activeLocks = 0; staleLocks = 0; locks = @(); vault = '/v' } }
        @{ Kind = 'RemovedRecoveryPoint'; Shape = 'Table'; Shown = 'fe48b0c78099 '; Data = @{ pointId = 'fe48b0c78099c4753704e1aced90a6d2925b63605dea69e760713926f91d837b'; time = [datetime]::UtcNow; hostname = 'srv01'; vault = '/mnt/backup/vault' } }
    )
}
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../../module/AzBackup.psd1') -Force
    $script:convert = & (Get-Module AzBackup) { Get-Command ConvertTo-AzBackupObject }
}

Describe 'View of AzBackup.<Kind>' -ForEach $samples {
    BeforeAll {
        $script:object = & $convert -Kind $Kind -Data ([pscustomobject]$Data)
        $script:text = $object | Out-String -Width 80
        $script:lines = @($text -split "`r?`n" | Where-Object { $_.Trim() })
    }

    It 'is defined as a <Shape> view' {
        $format = Get-FormatData -TypeName "AzBackup.$Kind"
        $format | Should -Not -BeNullOrEmpty
        $format.FormatViewDefinition[0].Control.GetType().Name | Should -Be "${Shape}Control"
    }

    It 'fits 80 columns and shows the values' {
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $text | Should -BeLike "*$Shown*"
        if ($Shape -eq 'Table') { $lines.Count | Should -Be 3 } # header, dashes, one row with values
    }
}

Describe 'RestoreResult view details' {
    It 'shows the files left as they were (Unchanged) and the packs read from the vault (PacksRead)' {
        $result = & (Get-Module AzBackup) { ConvertTo-AzBackupObject -Kind RestoreResult -Data ([pscustomobject]@{ files = 5; unchanged = 3; packsRead = 7; pointId = 'abcdef0123456789'; target = '/t'; vault = '/v' }) }
        $text = $result | Out-String -Width 80
        $text | Should -Match '(?m)^Unchanged\s+: 3\s*$'
        $text | Should -Match '(?m)^PacksRead\s+: 7\s*$'
    }
}

Describe 'RecoveryPoint view details' {
    It 'shows the first 12 characters of the point ID, the local time to the second, the tags, the sources and the size added as text' {
        $time = [datetime]::new(2026, 1, 2, 3, 4, 5, [System.DateTimeKind]::Utc)
        $point = & (Get-Module AzBackup) { ConvertTo-AzBackupObject -Kind RecoveryPoint -Data ([pscustomobject]@{ pointId = 'abcdef0123456789'; time = $args[0]; hostname = 'h'; tags = @('nightly'); sources = @('/a', '/b'); filesNew = 1; bytesAdded = 123456789 }) } $time
        $row = ($point | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ -like 'abcdef012345 *' }
        $row | Should -BeLike "abcdef012345 $($time.ToLocalTime().ToString('yyyy-MM-dd HH:mm:ss'))*nightly*117.7 MiB*/a, /b*"
        $point.BytesAdded | Should -Be 123456789 # the raw number stays for scripts
    }
}

Describe 'RecoverableItem view details' {
    It 'shows the mode as ls does and the size as text, keeping the raw numbers' -ForEach @(
        @{ Type = 'file'; Mode = 420; Size = 48213; ModeText = '-rw-r--r--'; SizeText = '47.1 KiB' }
        @{ Type = 'dir'; Mode = 493; Size = 0; ModeText = 'drwxr-xr-x'; SizeText = '0 B' }
        @{ Type = 'file'; Mode = 3565; Size = 1023; ModeText = '-rwsr-sr-x'; SizeText = '1023 B' } # 06755: setuid, setgid
        @{ Type = 'dir'; Mode = 1023; Size = 5GB; ModeText = 'drwxrwxrwt'; SizeText = '5.0 GiB' } # 01777, sticky
        @{ Type = 'file'; Mode = 2048 + 256; Size = 1; ModeText = '-r-S------'; SizeText = '1 B' } # setuid without x
        @{ Type = 'symlink'; Mode = 511; Size = 5; ModeText = 'lrwxrwxrwx'; SizeText = '5 B' }
    ) {
        $item = & (Get-Module AzBackup) { param($t, $m, $s) ConvertTo-AzBackupObject -Kind RecoverableItem -Data ([pscustomobject]@{ path = '/x'; name = 'x'; type = $t; size = $s; mode = $m; modified = [datetime]::UtcNow }) } $Type $Mode $Size
        $item.ModeText | Should -BeExactly $ModeText
        $item.SizeText | Should -BeExactly $SizeText
        $item.Mode | Should -Be $Mode
        $item.Size | Should -Be $Size
        ($item | Out-String -Width 80) | Should -Match ([regex]::Escape($ModeText) + '\s+' + [regex]::Escape($SizeText))
    }
}
