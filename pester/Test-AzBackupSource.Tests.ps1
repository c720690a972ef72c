# Test-AzBackupSource against the real engine and real mounts: ext4, xfs and btrfs loop mounts, a tmpfs,
# an ext4 loop mount remounted read-only, an sshfs mount to a real sshd on loopback, a missing path. They need root (CI runs as root). The Windows check
# runs here with Get-CimInstance, Get-Volume and Get-Partition mocked, since they do not exist on Linux;
# it has not run on Windows (README "Test-AzBackupSource").
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:savedEngine = $env:AZBACKUP_ENGINE
    $script:root = New-TestDirectory
    $script:mounted = [System.Collections.Generic.List[string]]::new()
    if ((id -u) -ne '0') { throw 'these tests mount file systems and need root (CI runs as root)' }

    function script:Invoke-Checked([string]$Command, [string[]]$Arguments) {
        $output = & $Command @Arguments 2>&1
        if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed ($LASTEXITCODE): $output" }
    }
    function script:New-LoopExt4([string]$At) {
        $image = "$At.img"
        Invoke-Checked truncate @('-s', '64M', $image)
        Invoke-Checked mkfs.ext4 @('-q', '-F', $image)
        $null = New-Item -ItemType Directory -Path $At -Force
        Invoke-Checked mount @('-o', 'loop', $image, $At)
        $mounted.Add($At)
        $At
    }

    $script:ext4 = New-LoopExt4 (Join-Path $root 'ext4')
    $script:ext4Data = (New-Item -ItemType Directory -Path (Join-Path $ext4 'data')).FullName
    Set-Content -LiteralPath (Join-Path $ext4Data 'a.txt') -Value 'a file on ext4'

    $script:tmpfs = Join-Path $root 'tmpfs'
    $null = New-Item -ItemType Directory -Path $tmpfs
    Invoke-Checked mount @('-t', 'tmpfs', '-o', 'size=8m', 'azb-pester-tmpfs', $tmpfs)
    $mounted.Add($tmpfs)

    $script:readOnly = New-LoopExt4 (Join-Path $root 'ro')
    $null = New-Item -ItemType Directory -Path (Join-Path $readOnly 'data')
    Invoke-Checked mount @('-o', 'remount,ro', $readOnly)

    $script:missing = Join-Path $root 'no-such-folder/below'

    # xfs and btrfs on loop files (xfs wants 300 MiB at least; the files are sparse).
    foreach ($type in 'xfs', 'btrfs') {
        $at = Join-Path $root $type
        Invoke-Checked truncate @('-s', '320M', "$at.img")
        Invoke-Checked "mkfs.$type" @('-q', '-f', "$at.img")
        $null = New-Item -ItemType Directory -Path $at
        Invoke-Checked mount @('-o', 'loop', "$at.img", $at)
        $mounted.Add($at)
    }

    # A network mount: sshfs to Debian's sshd on 127.0.0.1, root login with a key made here.
    $sshDir = (New-Item -ItemType Directory -Path (Join-Path $root 'sshd')).FullName
    $null = New-Item -ItemType Directory -Path '/run/sshd' -Force
    Invoke-Checked ssh-keygen @('-q', '-t', 'ed25519', '-N', '', '-f', "$sshDir/host_ed25519")
    Invoke-Checked ssh-keygen @('-q', '-t', 'ed25519', '-N', '', '-f', "$sshDir/client_ed25519")
    Copy-Item "$sshDir/client_ed25519.pub" "$sshDir/authorized_keys"
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $script:sshPort = $listener.LocalEndpoint.Port; $listener.Stop()
    Set-Content -LiteralPath "$sshDir/sshd_config" -Value @(
        "Port $sshPort", 'ListenAddress 127.0.0.1', "HostKey $sshDir/host_ed25519", "PidFile $sshDir/sshd.pid",
        "AuthorizedKeysFile $sshDir/authorized_keys", 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
        'KbdInteractiveAuthentication no', 'StrictModes no', 'UsePAM no', 'Subsystem sftp internal-sftp')
    $script:sshd = Start-Process -FilePath /usr/sbin/sshd -ArgumentList '-D', '-f', "$sshDir/sshd_config" -PassThru
    $exported = (New-Item -ItemType Directory -Path (Join-Path $root 'exported')).FullName
    Set-Content -LiteralPath (Join-Path $exported 'remote.txt') -Value 'on the server'
    $script:network = (New-Item -ItemType Directory -Path (Join-Path $root 'net')).FullName
    $sshfsArgs = @('-o', "IdentityFile=$sshDir/client_ed25519,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes,port=$sshPort", "root@127.0.0.1:$exported", $network)
    for ($i = 0; $i -lt 50; $i++) {
        & sshfs @sshfsArgs 2>$null
        if ($LASTEXITCODE -eq 0) { break }
        Start-Sleep -Milliseconds 100 # sshd still starting
    }
    if ($LASTEXITCODE -ne 0) { throw "sshfs to the sshd on port $sshPort failed" }
    $mounted.Add($network)
}

AfterAll {
    $env:AZBACKUP_ENGINE = $script:savedEngine
    Restore-AzBackupTestEnvironment $script:savedEnv
    for ($i = $mounted.Count - 1; $i -ge 0; $i--) {
        $point = $mounted[$i]
        $device = (findmnt -n -o SOURCE --mountpoint $point 2>$null) | Select-Object -First 1
        umount $point
        # mount -o loop detaches its loop device on umount; this is for one left attached.
        if ($device -like '/dev/loop*' -and (losetup -n -O NAME $device 2>$null)) { losetup -d $device 2>$null }
    }
    if ($script:sshd) { Stop-Process -Id $script:sshd.Id -ErrorAction SilentlyContinue }
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Test-AzBackupSource on real mounts' {
    It 'finds an ext4 loop mount eligible, with its mount, file system and device' {
        $verdict = Test-AzBackupSource -Path $ext4Data -ErrorAction Stop
        $verdict.Path | Should -Be $ext4Data
        $verdict.Eligible | Should -BeTrue
        $verdict.Reason | Should -Be 'Eligible'
        $verdict.Code | Should -BeNullOrEmpty
        $verdict.FileSystem | Should -Be 'ext4'
        $verdict.MountPoint | Should -Be $ext4
        $verdict.Device | Should -BeLike '/dev/loop*'
        $verdict.Message | Should -BeLike "*$ext4Data can be backed up*"
    }

    It 'finds xfs and btrfs loop mounts eligible, and refuses an sshfs mount and a file inside it as Network' {
        $verdicts = Test-AzBackupSource -Path (Join-Path $root 'xfs'), (Join-Path $root 'btrfs'), $network, (Join-Path $network 'remote.txt') -ErrorAction Stop
        $verdicts | ForEach-Object { "$($_.Eligible) $($_.Reason) $($_.Code) $($_.FileSystem)" } | Should -Be @(
            'True Eligible  xfs', 'True Eligible  btrfs', 'False Network AZB_SOURCE_NETWORK fuse.sshfs', 'False Network AZB_SOURCE_NETWORK fuse.sshfs')
        $verdicts[2].Hint | Should -Not -BeNullOrEmpty
        Test-AzBackupSource -Path (Join-Path $root 'xfs'), $network -Quiet | Should -BeFalse
    }

    It 'refuses a tmpfs as FileSystem with a verdict, not an error record' {
        $errs = $null
        $verdict = Test-AzBackupSource -Path $tmpfs -ErrorVariable errs
        $errs | Should -BeNullOrEmpty # exit code 4 (some refused) is not a failure
        $verdict.Eligible | Should -BeFalse
        $verdict.Reason | Should -Be 'FileSystem'
        $verdict.Code | Should -Be 'AZB_SOURCE_FILE_SYSTEM'
        $verdict.FileSystem | Should -Be 'tmpfs'
        $verdict.MountPoint | Should -Be $tmpfs
        $verdict.Hint | Should -BeLike '*ext4*'
    }

    It 'refuses a read-only remount of an ext4 loop mount as ReadOnly' {
        $verdict = Test-AzBackupSource -Path (Join-Path $readOnly 'data') -ErrorAction Stop
        $verdict.Eligible | Should -BeFalse
        $verdict.Reason | Should -Be 'ReadOnly'
        $verdict.Code | Should -Be 'AZB_SOURCE_READ_ONLY'
        $verdict.FileSystem | Should -Be 'ext4'
        $verdict.MountPoint | Should -Be $readOnly
        $verdict.Hint | Should -BeLike '*remount*'
    }

    It 'refuses a removable device as Removable (the real loop mount, its sysfs entry from a sample root)' {
        # A loop device is never removable; the engine reads sysfs from AZBACKUP_SYSFS_ROOT, where this
        # sample says the ext4 mount's device is a removable disk, as a USB stick's entry would.
        $device = (findmnt -n -o MAJ:MIN --mountpoint $ext4 | Select-Object -First 1).Trim()
        $device | Should -Match '^\d+:\d+$'
        $sys = Join-Path $root 'sysfs'
        $disk = Join-Path $sys "devices/virtual/block/azbdisk$($device -replace ':', '_')"
        $null = New-Item -ItemType Directory -Path $disk, (Join-Path $sys 'dev/block') -Force
        Set-Content -LiteralPath (Join-Path $disk 'removable') -Value '1'
        Set-Content -LiteralPath (Join-Path $disk 'ro') -Value '0'
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $sys "dev/block/$device") -Target $disk
        $savedSysfs = $env:AZBACKUP_SYSFS_ROOT
        $env:AZBACKUP_SYSFS_ROOT = $sys
        try {
            $verdict = Test-AzBackupSource -Path $ext4Data -ErrorAction Stop
            Set-Content -LiteralPath (Join-Path $disk 'removable') -Value '0'
            $fixed = Test-AzBackupSource -Path $ext4Data -ErrorAction Stop
        } finally {
            $env:AZBACKUP_SYSFS_ROOT = $savedSysfs
        }
        $verdict.Eligible | Should -BeFalse
        $verdict.Reason | Should -Be 'Removable'
        $verdict.Code | Should -Be 'AZB_SOURCE_REMOVABLE'
        $verdict.FileSystem | Should -Be 'ext4'
        $fixed.Eligible | Should -BeTrue # the same sample, not removable: the verdict came from it
    }

    It 'refuses a missing path with AZB_SOURCE_NOT_FOUND' {
        $verdict = Test-AzBackupSource -Path $missing -ErrorAction Stop
        $verdict.Eligible | Should -BeFalse
        $verdict.Reason | Should -Be 'Offline'
        $verdict.Code | Should -Be 'AZB_SOURCE_NOT_FOUND'
        $verdict.Message | Should -BeLike "*$missing does not exist*"
    }

    It 'gives one verdict per path, in the order given, from one call' {
        $verdicts = @(Test-AzBackupSource -Path $ext4Data, $tmpfs, (Join-Path $readOnly 'data'), $missing -ErrorAction Stop)
        $verdicts.Count | Should -Be 4
        $verdicts.Eligible | Should -Be @($true, $false, $false, $false)
        $verdicts.Code | Should -Be @($null, 'AZB_SOURCE_FILE_SYSTEM', 'AZB_SOURCE_READ_ONLY', 'AZB_SOURCE_NOT_FOUND')
    }

    It 'emits AzBackup.SourceVerdict objects with every property, also the empty ones' {
        foreach ($verdict in Test-AzBackupSource -Path $ext4Data, $missing -ErrorAction Stop) {
            $verdict.PSTypeNames[0] | Should -Be 'AzBackup.SourceVerdict'
            $verdict.PSObject.Properties.Name | Should -Be @('Path', 'Eligible', 'Reason', 'Code', 'Message', 'Hint', 'MountPoint', 'FileSystem', 'Device')
            $verdict.Eligible | Should -BeOfType [bool]
        }
    }

    It 'resolves a relative path against the PowerShell location, not the process folder' {
        Push-Location -LiteralPath $ext4
        try {
            [System.Environment]::CurrentDirectory | Should -Not -Be $ext4 # else this would prove nothing
            $verdict = Test-AzBackupSource -Path 'data' -ErrorAction Stop
            $verdict.Path | Should -Be $ext4Data
            $verdict.Eligible | Should -BeTrue
            (Test-AzBackupSource -Path './data/../data/a.txt' -ErrorAction Stop).Path | Should -Be (Join-Path $ext4Data 'a.txt')
        } finally {
            Pop-Location
        }
    }

    It 'takes Get-Item and Get-ChildItem output from the pipeline (FullName)' {
        $verdicts = @(Get-Item -LiteralPath $ext4Data, $tmpfs | Test-AzBackupSource -ErrorAction Stop)
        $verdicts.Path | Should -Be @($ext4Data, $tmpfs)
        $verdicts.Eligible | Should -Be @($true, $false)
        $children = @(Get-ChildItem -LiteralPath $ext4Data -File | Test-AzBackupSource -ErrorAction Stop)
        $children.Path | Should -Be @((Join-Path $ext4Data 'a.txt'))
    }

    It 'takes strings and objects with a Path property from the pipeline' {
        (@($ext4Data, $tmpfs) | Test-AzBackupSource -ErrorAction Stop).Eligible | Should -Be @($true, $false)
        ([pscustomobject]@{ Path = (Join-Path $readOnly 'data') } | Test-AzBackupSource -ErrorAction Stop).Code | Should -Be 'AZB_SOURCE_READ_ONLY'
    }

    It '-Quiet returns one Boolean: true only when every path is eligible' {
        $yes = @(Test-AzBackupSource -Path $ext4Data, (Join-Path $ext4Data 'a.txt') -Quiet -ErrorAction Stop)
        $yes.Count | Should -Be 1
        $yes[0] | Should -BeOfType [bool]
        $yes[0] | Should -BeTrue
        $no = @(Test-AzBackupSource -Path $ext4Data, $tmpfs -Quiet -ErrorAction Stop)
        $no.Count | Should -Be 1
        $no[0] | Should -BeFalse
        Test-AzBackupSource -Path $missing -Quiet -ErrorAction Stop | Should -BeFalse
        ($ext4Data, $readOnly | Test-AzBackupSource -Quiet -ErrorAction Stop) | Should -BeFalse
    }

    It 'takes -TimeoutSeconds from 1 to 3600 and rejects others in parameter validation' -ForEach @(
        @{ Seconds = 0 }, @{ Seconds = -5 }, @{ Seconds = 3601 }
    ) {
        { Test-AzBackupSource -Path $ext4Data -TimeoutSeconds $Seconds } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Test-AzBackupSource'
    }

    It 'passes -TimeoutSeconds to the engine' {
        (Test-AzBackupSource -Path $ext4Data -TimeoutSeconds 1 -ErrorAction Stop).Eligible | Should -BeTrue
        (Test-AzBackupSource -Path $tmpfs -TimeoutSeconds 3600 -ErrorAction Stop).Code | Should -Be 'AZB_SOURCE_FILE_SYSTEM'
    }

    It 'rejects an empty path in parameter validation' {
        { Test-AzBackupSource -Path '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Test-AzBackupSource'
        { Test-AzBackupSource -Path $null } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Test-AzBackupSource'
    }

    It 'refuses a relative path outside the file system with AZB_ARGS_INVALID and still judges the others' {
        Push-Location Env:
        try {
            $errs = $null
            $verdicts = @(Test-AzBackupSource -Path 'HOME', $ext4Data -ErrorVariable errs -ErrorAction SilentlyContinue)
            $quiet = Test-AzBackupSource -Path 'HOME', $ext4Data -Quiet -ErrorAction SilentlyContinue
        } finally {
            Pop-Location
        }
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'AZB_ARGS_INVALID,Test-AzBackupSource'
        $errs[0].Exception.Message | Should -BeLike "*'HOME' is not a file system path*Environment*"
        $errs[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        $verdicts.Path | Should -Be @($ext4Data)
        $quiet | Should -BeFalse # one path could not be judged
    }

    It 'writes an engine failure as an error record with its code, and -Quiet answers false' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $root -ExitCode 2 -Lines @(
            '{"type":"error","code":"AZB_ARGS_INVALID","category":"InvalidArgument","message":"args: paths/0 is bad.","hint":"Fix it.","target":"x","exitCode":2}')
        try {
            $errs = $null
            $out = @(Test-AzBackupSource -Path $ext4Data -ErrorVariable errs -ErrorAction SilentlyContinue)
            $quiet = Test-AzBackupSource -Path $ext4Data -Quiet -ErrorAction SilentlyContinue
        } finally {
            $env:AZBACKUP_ENGINE = $script:savedEngine
        }
        $out.Count | Should -Be 0
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'AZB_ARGS_INVALID,Test-AzBackupSource'
        $errs[0].ErrorDetails.RecommendedAction | Should -Be 'Fix it.'
        $quiet | Should -BeFalse
    }

    It 'writes AZB_ENGINE_NOT_FOUND when there is no engine' {
        $env:AZBACKUP_ENGINE = Join-Path $root 'no-engine-here'
        try {
            { Test-AzBackupSource -Path $ext4Data -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ENGINE_NOT_FOUND,Test-AzBackupSource'
        } finally {
            $env:AZBACKUP_ENGINE = $script:savedEngine
        }
    }

    It 'has a table view: Path, Eligible, Code, FileSystem, MountPoint within 80 columns' {
        $format = Get-FormatData -TypeName 'AzBackup.SourceVerdict'
        $format.FormatViewDefinition[0].Control.GetType().Name | Should -Be 'TableControl'
        $text = Test-AzBackupSource -Path $ext4Data, $tmpfs -ErrorAction Stop | Out-String -Width 80
        $lines = @($text -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^Path\s+Eligible\s+Code\s+FileSystem\s+MountPoint'
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines.Count | Should -Be 4 # header, dashes, two rows
        $lines[3] | Should -Match 'False\s+AZB_SOURCE_FILE_SYSTEM\s+tmpfs'
    }
}

Describe 'Assert-AzBackupSourceEligible on real mounts' {
    It 'returns nothing when every path is eligible, and the verdicts with -PassThru' {
        $out = & (Get-Module AzBackup) { param($p) Assert-AzBackupSourceEligible -Path $p } $ext4Data
        $out | Should -BeNullOrEmpty
        $verdicts = & (Get-Module AzBackup) { param($p) Assert-AzBackupSourceEligible -Path $p -PassThru } @($ext4Data, (Join-Path $ext4Data 'a.txt'))
        $verdicts.Eligible | Should -Be @($true, $true)
    }

    It 'throws the first refusal''s code, naming every refused path' {
        $err = { & (Get-Module AzBackup) { param($p) Assert-AzBackupSourceEligible -Path $p } @($ext4Data, $tmpfs, $missing) } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'AZB_SOURCE_FILE_SYSTEM'
        $err.Exception.Message | Should -BeLike "2 sources refused:*$tmpfs*$missing does not exist*"
        $err.TargetObject | Should -Be $tmpfs
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*ext4*'
    }
}

Describe 'Test-AzBackupSource on Windows (Get-CimInstance, Get-Volume, Get-Partition mocked)' {
    BeforeAll {
        # Windows' storage and CIM cmdlets with the parameters used, so that Pester can mock them here (unmocked they throw).
        $script:stubbed = @()
        $stub = { [CmdletBinding()] param($ClassName, $Filter, $DriveLetter) throw 'not mocked' }
        foreach ($name in 'Get-CimInstance', 'Get-Volume', 'Get-Partition') {
            if (-not (Get-Command $name -ErrorAction SilentlyContinue)) { New-Item -Path "function:global:$name" -Value $stub | Out-Null; $script:stubbed += $name }
        }
        function script:New-Volume([string]$DriveType = 'Fixed', [string]$FileSystemType = 'NTFS', [string]$OperationalStatus = 'OK') {
            [pscustomobject]@{ DriveLetter = 'D'; DriveType = $DriveType; FileSystemType = $FileSystemType; OperationalStatus = $OperationalStatus; Path = '\\?\Volume{4c1b02c1-d990-11dc-99ae-806e6f6e6963}\' }
        }
    }
    AfterAll {
        foreach ($name in $script:stubbed) { Remove-Item -Path "function:global:$name" -ErrorAction SilentlyContinue }
    }
    BeforeEach {
        # A fixed NTFS D: holding D:\Data; each test changes one thing.
        Mock -ModuleName AzBackup Test-AzBackupIsWindows { $true }
        Mock -ModuleName AzBackup Invoke-AzBackupEngine { throw 'the engine is not asked on Windows' }
        Mock -ModuleName AzBackup Get-CimInstance { [pscustomobject]@{ DeviceID = 'D:'; DriveType = 3; ProviderName = $null } } -ParameterFilter { $ClassName -eq 'Win32_LogicalDisk' -and $Filter -eq "DeviceID='D:'" }
        Mock -ModuleName AzBackup Get-CimInstance { } -ParameterFilter { $ClassName -eq 'Win32_LogicalDisk' -and $Filter -ne "DeviceID='D:'" }
        Mock -ModuleName AzBackup Get-Volume { New-Volume } -ParameterFilter { $DriveLetter -eq 'D' }
        Mock -ModuleName AzBackup Get-Partition { [pscustomobject]@{ DriveLetter = 'D'; IsReadOnly = $false } } -ParameterFilter { $DriveLetter -eq 'D' }
        Mock -ModuleName AzBackup Test-Path { $LiteralPath -in 'D:\Data', 'd:/data' } -ParameterFilter { $LiteralPath -like '?:*' }
    }

    It 'makes Start-AzBackup and Set-AzBackupPolicy refuse a source on a refused volume before the engine is asked' {
        Mock -ModuleName AzBackup Get-AzBackupWindowsSourceVerdict {
            & (Get-Module AzBackup) { param($p) New-AzBackupSourceVerdict -Path $p -Reason 'Removable' -Code 'AZB_SOURCE_REMOVABLE' -Message "$p is on a removable drive." -Hint 'Back up fixed disks only.' } $Path
        }
        $pass = ConvertTo-SecureString 'any passphrase at all' -AsPlainText -Force
        $err = { Start-AzBackup -Path $ext4Data -Passphrase $pass -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SOURCE_REMOVABLE,Start-AzBackup' -PassThru
        $err.Exception.Message | Should -BeLike "*$ext4Data is on a removable drive.*"
        $policy = New-AzBackupPolicy -Name removable |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $ext4Data) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7)
        { $policy | Set-AzBackupPolicy -Passphrase $pass -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SOURCE_REMOVABLE,Set-AzBackupPolicy'
        Should -Invoke -ModuleName AzBackup Invoke-AzBackupEngine -Times 0 -Exactly
    }

    It 'finds a folder on a fixed, online, writable NTFS volume eligible' {
        $verdict = Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop
        $verdict.PSTypeNames[0] | Should -Be 'AzBackup.SourceVerdict'
        $verdict.Path | Should -Be 'D:\Data'
        $verdict.Eligible | Should -BeTrue
        $verdict.Reason | Should -Be 'Eligible'
        $verdict.Code | Should -BeNullOrEmpty
        $verdict.FileSystem | Should -Be 'NTFS'
        $verdict.MountPoint | Should -Be 'D:\'
        $verdict.Device | Should -BeLike '\\?\Volume{*}\'
        Should -Invoke -ModuleName AzBackup Get-Volume -Times 1 -Exactly -ParameterFilter { $DriveLetter -eq 'D' }
        Should -Invoke -ModuleName AzBackup Invoke-AzBackupEngine -Times 0 -Exactly
    }

    It 'accepts ReFS as well, and a lower-case drive letter' {
        Mock -ModuleName AzBackup Get-Volume { New-Volume -FileSystemType 'ReFS' } -ParameterFilter { $DriveLetter -eq 'D' }
        $verdict = Test-AzBackupSource -Path 'd:/data' -ErrorAction Stop
        $verdict.Eligible | Should -BeTrue
        $verdict.FileSystem | Should -Be 'ReFS'
    }

    It 'refuses a UNC path as Network without asking for a volume' -ForEach @(
        @{ Given = '\\fileserver\share\data'; Share = '\\fileserver\share' }
        @{ Given = '//fileserver/share/data'; Share = '//fileserver/share' }
        @{ Given = '\\?\UNC\fileserver\share\data'; Share = '\\fileserver\share' }
    ) {
        $verdict = Test-AzBackupSource -Path $Given -ErrorAction Stop
        $verdict.Eligible | Should -BeFalse
        $verdict.Reason | Should -Be 'Network'
        $verdict.Code | Should -Be 'AZB_SOURCE_NETWORK'
        $verdict.Message | Should -BeLike "*network share $Share;*"
        $verdict.Hint | Should -Not -BeNullOrEmpty
        Should -Invoke -ModuleName AzBackup Get-Volume -Times 0 -Exactly
    }

    It 'judges a long-form local path (\\?\D:\...) by its drive' {
        Mock -ModuleName AzBackup Test-Path { $true } -ParameterFilter { $LiteralPath -eq '\\?\D:\Data' }
        (Test-AzBackupSource -Path '\\?\D:\Data' -ErrorAction Stop).Eligible | Should -BeTrue
        Should -Invoke -ModuleName AzBackup Get-Volume -Times 1 -Exactly -ParameterFilter { $DriveLetter -eq 'D' }
    }

    It 'refuses a mapped network drive as Network, naming its share' {
        Mock -ModuleName AzBackup Get-CimInstance { [pscustomobject]@{ DeviceID = 'Z:'; DriveType = 4; ProviderName = '\\fileserver\home' } } -ParameterFilter { $Filter -eq "DeviceID='Z:'" }
        $verdict = Test-AzBackupSource -Path 'Z:\Users' -ErrorAction Stop
        $verdict.Code | Should -Be 'AZB_SOURCE_NETWORK'
        $verdict.Device | Should -Be '\\fileserver\home'
        $verdict.Message | Should -BeLike '*mapped to \\fileserver\home*'
        Should -Invoke -ModuleName AzBackup Get-Volume -Times 0 -Exactly
    }

    It 'refuses a removable drive as Removable, before its file system' {
        Mock -ModuleName AzBackup Get-Volume { New-Volume -DriveType 'Removable' -FileSystemType 'FAT32' } -ParameterFilter { $DriveLetter -eq 'D' }
        $verdict = Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop
        $verdict.Reason | Should -Be 'Removable'
        $verdict.Code | Should -Be 'AZB_SOURCE_REMOVABLE'
        $verdict.FileSystem | Should -Be 'FAT32'
    }

    It 'refuses a CD-ROM drive as Removable' {
        Mock -ModuleName AzBackup Get-Volume { New-Volume -DriveType 'CD-ROM' -FileSystemType 'UDF' } -ParameterFilter { $DriveLetter -eq 'D' }
        (Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop).Code | Should -Be 'AZB_SOURCE_REMOVABLE'
    }

    It 'refuses a fixed volume of <Shown> as FileSystem' -ForEach @(@{ FileSystem = 'FAT32'; Shown = 'FAT32' }, @{ FileSystem = 'exFAT'; Shown = 'exFAT' }, @{ FileSystem = ''; Shown = 'no file system (RAW)' }) {
        Mock -ModuleName AzBackup Get-Volume { New-Volume -FileSystemType $FileSystem } -ParameterFilter { $DriveLetter -eq 'D' }
        $verdict = Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop
        $verdict.Eligible | Should -BeFalse
        $verdict.Reason | Should -Be 'FileSystem'
        $verdict.Code | Should -Be 'AZB_SOURCE_FILE_SYSTEM'
        $verdict.Message | Should -BeLike '*NTFS and ReFS volumes only*'
        $verdict.Hint | Should -BeLike '*NTFS or ReFS*'
    }

    It 'refuses a volume that is not online (<Status>) as Offline' -ForEach @(@{ Status = 'No Media' }, @{ Status = 'Failed' }, @{ Status = 'Unknown' }) {
        Mock -ModuleName AzBackup Get-Volume { New-Volume -OperationalStatus $Status } -ParameterFilter { $DriveLetter -eq 'D' }
        $verdict = Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop
        $verdict.Reason | Should -Be 'Offline'
        $verdict.Code | Should -Be 'AZB_SOURCE_OFFLINE'
        $verdict.Message | Should -BeLike "*$Status*"
    }

    It 'refuses a drive letter whose volume is gone as Offline' {
        Mock -ModuleName AzBackup Get-Volume { } -ParameterFilter { $DriveLetter -eq 'D' }
        (Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop).Code | Should -Be 'AZB_SOURCE_OFFLINE'
    }

    It 'refuses a drive letter that does not exist, and a missing path, with AZB_SOURCE_NOT_FOUND' {
        $verdicts = @(Test-AzBackupSource -Path 'Q:\Data', 'D:\Nothing' -ErrorAction Stop)
        $verdicts.Code | Should -Be @('AZB_SOURCE_NOT_FOUND', 'AZB_SOURCE_NOT_FOUND')
        $verdicts.Reason | Should -Be @('Offline', 'Offline')
        $verdicts[0].Message | Should -BeLike '*Q:, which is not a drive*'
        $verdicts[1].Message | Should -BeLike '*D:\Nothing does not exist*'
    }

    It 'refuses a read-only partition as ReadOnly' {
        Mock -ModuleName AzBackup Get-Partition { [pscustomobject]@{ DriveLetter = 'D'; IsReadOnly = $true } } -ParameterFilter { $DriveLetter -eq 'D' }
        $verdict = Test-AzBackupSource -Path 'D:\Data' -ErrorAction Stop
        $verdict.Reason | Should -Be 'ReadOnly'
        $verdict.Code | Should -Be 'AZB_SOURCE_READ_ONLY'
        $verdict.Hint | Should -BeLike '*Set-Partition*'
    }

    It 'refuses as Offline, with the reason, a path whose volume query fails outright' {
        Mock -ModuleName AzBackup Get-Volume { throw [System.InvalidOperationException]::new('The RPC server is unavailable.') } -ParameterFilter { $DriveLetter -eq 'D' }
        # Everything the cmdlet writes, errors included (-ErrorVariable would also list the caught exception).
        $written = @(Test-AzBackupSource -Path 'D:\Data', '\\fileserver\share' 2>&1)
        @($written | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -BeNullOrEmpty
        $verdicts = $written
        $verdicts.Count | Should -Be 2
        $verdicts[0].Code | Should -Be 'AZB_SOURCE_OFFLINE'
        $verdicts[0].Message | Should -BeLike '*D:\Data could not be checked: The RPC server is unavailable.*'
        $verdicts[1].Code | Should -Be 'AZB_SOURCE_NETWORK' # the next path is still judged
    }

    It '-Quiet answers for all paths' {
        Test-AzBackupSource -Path 'D:\Data' -Quiet | Should -BeTrue
        Test-AzBackupSource -Path 'D:\Data', '\\fileserver\share' -Quiet | Should -BeFalse
    }

    It 'Assert-AzBackupSourceEligible throws the first refusal''s code and passes eligible paths' {
        $err = { & (Get-Module AzBackup) { Assert-AzBackupSourceEligible -Path 'D:\Data', '\\fileserver\share\x', 'Q:\y' } } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'AZB_SOURCE_NETWORK'
        $err.Exception.Message | Should -BeLike '2 sources refused:*\\fileserver\share*Q:*'
        $err.TargetObject | Should -Be '\\fileserver\share\x'
        & (Get-Module AzBackup) { Assert-AzBackupSourceEligible -Path 'D:\Data' } | Should -BeNullOrEmpty
        (& (Get-Module AzBackup) { Assert-AzBackupSourceEligible -Path 'D:\Data' -PassThru }).Eligible | Should -BeTrue
    }
}
