# The module inside PowerShell SSH remoting, for real: three sshd on 127.0.0.1 with the powershell
# subsystem stand for three servers (each its own configuration home, set by sshd's SetEnv), one shared
# folder vault. Invoke-AzBackupCommand fans out over the three sessions at once; one server with no
# engine and one with an engine of another protocol version fail alone, with their codes; typed output
# comes back as Deserialized.AzBackup.* with its views; progress, verbose messages and coded errors
# cross a plain Invoke-Command; a prompt on a server is stopped, not waited on.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:adminHome = New-TestHome -Root $root
    $script:modulePath = (Resolve-Path (Join-Path $PSScriptRoot '../module/AzBackup.psd1')).Path
    $script:vault = (New-AzBackupVault -Path (Join-Path $root 'vault') -ErrorAction Stop).Vault
    $script:names = 'srv1', 'srv2', 'srv3'
    $script:servers = foreach ($name in $names) {
        # Each server's passphrase in an owner-only file on it: the non-interactive way to give it.
        Set-Content -LiteralPath (Join-Path $root "$name.passphrase") -Value "passphrase of $name in the fleet" -NoNewline
        chmod 600 (Join-Path $root "$name.passphrase")
        $null = New-TestDataTree -Path (Join-Path $root "data-$name") -Seed ([int]$name.Substring(3))
        Start-TestSshd -Directory (Join-Path $root "sshd-$name") -PowerShellSubsystem -Environment @{ AZBACKUP_HOME = (Join-Path $root "home-$name"); AZBACKUP_TEST_KDF = 'fast' }
    }
    $script:sshOptions = @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
    # One after the other: New-PSSession -SSHConnection ignores the Port of each connection (PowerShell 7.6).
    $script:sessions = @(foreach ($s in $servers) { New-PSSession -HostName 127.0.0.1 -Port $s.Port -UserName root -KeyFilePath $s.ClientKey -Options $sshOptions -ErrorAction Stop })
    $script:fakeEngine = New-FakeEngine -Directory $root -ProtocolVersion 99

    # Every server: its own certificate (the private key never leaves it), uploaded, registered, backed up.
    # A SecureString crosses the session encrypted; it never appears in the script text.
    $script:setup = Invoke-AzBackupCommand -Session $sessions -ModuleName $modulePath -ArgumentList $vault, $root, (New-TestSecureString) -ScriptBlock {
        param($vault, $root, $pfxPassword)
        $name = (Split-Path -Leaf $env:AZBACKUP_HOME) -replace '^home-'
        $certificate = New-AzBackupCertificate -Subject "CN=$name" -OutputDirectory (New-Item -ItemType Directory -Force -Path "$root/cert-$name").FullName -PfxPassword $pfxPassword
        $null = $certificate | Add-AzBackupVaultCertificate -Vault $vault
        Register-AzBackupServer -Vault $vault -Certificate $certificate.PrivateKeyPath -CertificatePassword $pfxPassword -PassphraseFile "$root/$name.passphrase" -HostName $name -WarningAction SilentlyContinue
        Start-AzBackup -Path "$root/data-$name" -PassphraseFile "$root/$name.passphrase"
    }
}
AfterAll {
    if ($script:sessions) { Remove-PSSession -Session $script:sessions -ErrorAction SilentlyContinue }
    foreach ($s in $script:servers) { Stop-TestSshd $s }
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Invoke-AzBackupCommand over SSH remoting' {
    It 'registers and backs up three servers at once: one AzBackup.RemoteResult each, in their order' {
        $setup.Count | Should -Be 3
        foreach ($i in 0..2) {
            $result = $setup[$i]
            $result.PSObject.TypeNames[0] | Should -Be 'AzBackup.RemoteResult'
            $result.ComputerName | Should -Be '127.0.0.1'
            $result.Port | Should -Be $servers[$i].Port
            $result.ErrorCode | Should -BeNullOrEmpty -Because ($result.Error | Out-String)
            $result.Success | Should -BeTrue
            $registration = $result.Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.Registration' }
            $registration.HostName | Should -Be $names[$i]
            $registration.Changed | Should -BeTrue
            @($result.Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.RecoveryPoint' }).Count | Should -Be 1
        }
        # Three namespaces in the one vault, one per server.
        $servers = Get-AzBackupServer -Vault $vault -ErrorAction Stop
        ($servers.HostName | Sort-Object) | Should -Be $names
        ($setup.Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.Registration' }).ServerId | Sort-Object | Should -Be ($servers.ServerId | Sort-Object)
        # The results' own table: one row per server with its port.
        $table = $setup | Out-String -Width 160
        $table | Should -Match 'ComputerName\s+Port\s+Success\s+Output\s+ErrorCode'
        foreach ($s in $script:servers) { $table | Should -Match "127\.0\.0\.1\s+$($s.Port)\s+True" }
    }

    It 'shows deserialized objects with the same views as live ones' {
        $point = $setup[0].Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.RecoveryPoint' }
        $registration = $setup[0].Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.Registration' }
        $engine = @((Invoke-AzBackupCommand -Session $sessions[1] -ModuleName $modulePath -ScriptBlock { Get-AzBackupEngine }).Output)[0]
        foreach ($object in $point, $registration, $engine, $setup[0]) {
            $object | Should -Not -BeNullOrEmpty
            $live = $object.PSObject.TypeNames[0] -replace '^Deserialized\.'
            $view = (Get-FormatData -TypeName $live).FormatViewDefinition[0].Control
            $text = $object | Out-String -Width 200
            # Every column or row label of the live type's view, and not the property list of a PSCustomObject.
            $labels = if ($view.Headers) { $view.Headers.Label } else { $view.Entries[0].Items | ForEach-Object { if ($_.Label) { $_.Label } else { $_.DisplayEntry.Value } } }
            foreach ($label in $labels | Where-Object { $_ }) { $text | Should -Match ([regex]::Escape($label)) }
            # Not every property, as an object without a view shows: the properties the view leaves out stay out.
            $hidden = $object.PSObject.Properties.Name | Where-Object { $_ -notin $labels -and $_ -notmatch '^(PSComputerName|RunspaceId|PSShowComputerName)$' -and $_ -notmatch 'Text$' }
            foreach ($name in $hidden) { $text | Should -Not -MatchExactly "\b$name\b" }
            # Like every remoted object, it says where it comes from (the result object by its own column).
            $text | Should -Match '127\.0\.0\.1'
        }
        ($point | Out-String) | Should -Match ([regex]::Escape($point.PointId.Substring(0, 12)))
    }

    It 'an engine missing on one server and one of another protocol version on another fail alone, with their codes; the third goes on' {
        Invoke-Command -Session $sessions[0] { $env:AZBACKUP_ENGINE = '/nonexistent/azbackup' }
        Invoke-Command -Session $sessions[1] { param($path) $env:AZBACKUP_ENGINE = $path } -ArgumentList $fakeEngine
        try {
            $results = Invoke-AzBackupCommand -Session $sessions -ModuleName $modulePath -ArgumentList $root -ScriptBlock {
                param($root)
                $name = (Split-Path -Leaf $env:AZBACKUP_HOME) -replace '^home-'
                Get-AzRecoveryPoint -PassphraseFile "$root/$name.passphrase"
            }
        } finally {
            Invoke-Command -Session $sessions[0], $sessions[1] { Remove-Item Env:AZBACKUP_ENGINE }
        }
        $results.Count | Should -Be 3
        $results[0].Success | Should -BeFalse
        $results[0].ErrorCode | Should -Be 'AZB_ENGINE_NOT_FOUND'
        $results[0].Error | Should -Match '/nonexistent/azbackup'
        $results[0].Errors[0].ErrorDetails.RecommendedAction | Should -Match 'AZBACKUP_ENGINE'
        $results[1].Success | Should -BeFalse
        $results[1].ErrorCode | Should -Be 'AZB_ENGINE_PROTOCOL_UNSUPPORTED'
        $results[1].Error | Should -Match 'protocol version 99'
        $results[2].Success | Should -BeTrue
        @($results[2].Output).Count | Should -Be 1
        $results[2].Output[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.AzBackup.RecoveryPoint'
        ($results | Out-String -Width 200) | Should -Match 'AZB_ENGINE_PROTOCOL_UNSUPPORTED'
    }

    It 'a module that is not on the servers is AZB_REMOTE_MODULE_NOT_FOUND for each, and a failing script block AZB_REMOTE_SCRIPT_FAILED' {
        $missing = Invoke-AzBackupCommand -Session $sessions -ModuleName (Join-Path $root 'nowhere/AzBackup.psd1') -ScriptBlock { 'never runs' }
        $missing.ErrorCode | Should -Be (@('AZB_REMOTE_MODULE_NOT_FOUND') * 3)
        $missing.Output | Should -BeNullOrEmpty
        $missing[0].Error | Should -Match 'nowhere/AzBackup.psd1'
        $failing = Invoke-AzBackupCommand -Session $sessions[2] -ModuleName $modulePath -ArgumentList 'srv3 only' -ScriptBlock { param($what) 'before'; throw "failed on $what" }
        $failing.ErrorCode | Should -Be 'AZB_REMOTE_SCRIPT_FAILED'
        $failing.Error | Should -Be 'failed on srv3 only'
        $failing.Output | Should -Be 'before'
    }

    It 'a server that asks for confirmation is stopped with AZB_REMOTE_INTERACTION_REQUIRED; with -Confirm:$false it runs' {
        $asked = Invoke-AzBackupCommand -Session $sessions[2] -ModuleName $modulePath -ScriptBlock { Remove-AzBackupPolicy -Name 'no-such-policy' }
        $asked.ErrorCode | Should -Be 'AZB_REMOTE_INTERACTION_REQUIRED'
        $asked.Error | Should -Match 'Confirm'
        # The session is still usable after the stop.
        $answered = Invoke-AzBackupCommand -Session $sessions[2] -ModuleName $modulePath -ScriptBlock { Remove-AzBackupPolicy -Name 'no-such-policy' -Confirm:$false }
        $answered.ErrorCode | Should -Be 'AZB_POLICY_NOT_FOUND'
    }

    It '-HostName opens a session per host for the run and closes it; a host that cannot be reached is one failed result' {
        $before = @(Get-PSSession).Count
        $results = Invoke-AzBackupCommand -HostName '127.0.0.1', 'no-such-host.invalid' -Port $servers[0].Port -UserName root -KeyFilePath $servers[0].ClientKey -Options $sshOptions `
            -ModuleName $modulePath -ScriptBlock { $env:AZBACKUP_HOME }
        $results.Count | Should -Be 2
        $results[0].Success | Should -BeTrue
        $results[0].Output | Should -Be (Join-Path $root 'home-srv1')
        $results[1].ComputerName | Should -Be 'no-such-host.invalid'
        $results[1].ErrorCode | Should -Be 'AZB_REMOTE_CONNECT_FAILED'
        $results[1].Error | Should -Match 'no-such-host\.invalid'
        @(Get-PSSession).Count | Should -Be $before
    }

    It 'a session closed before the run is AZB_REMOTE_SESSION_UNAVAILABLE and one that breaks during it AZB_REMOTE_SESSION_BROKEN; the other server goes on' {
        $closed = New-PSSession -HostName 127.0.0.1 -Port $servers[0].Port -UserName root -KeyFilePath $servers[0].ClientKey -Options $sshOptions -ErrorAction Stop
        Remove-PSSession -Session $closed
        $breaking = New-PSSession -HostName 127.0.0.1 -Port $servers[2].Port -UserName root -KeyFilePath $servers[2].ClientKey -Options $sshOptions -ErrorAction Stop
        try {
            # The server's pwsh ends itself mid-run: the session breaks under the script block.
            $results = Invoke-AzBackupCommand -Session $closed, $sessions[1], $breaking -ModuleName $modulePath -ScriptBlock {
                if ($env:AZBACKUP_HOME -like '*home-srv3') { [System.Environment]::Exit(9) }
                $env:AZBACKUP_HOME
            }
        } finally {
            Remove-PSSession -Session $breaking -ErrorAction SilentlyContinue
        }
        $results.Count | Should -Be 3
        $results[0].Success | Should -BeFalse
        $results[0].ErrorCode | Should -Be 'AZB_REMOTE_SESSION_UNAVAILABLE'
        $results[0].Error | Should -Match 'Closed'
        $results[1].Success | Should -BeTrue
        $results[1].Output | Should -Be (Join-Path $root 'home-srv2')
        $results[2].Success | Should -BeFalse
        $results[2].ErrorCode | Should -Be 'AZB_REMOTE_SESSION_BROKEN'
    }
}

Describe 'The module inside a plain Invoke-Command' {
    It 'sends progress and verbose messages back across the session, and coded errors with their hint' {
        $job = Invoke-Command -Session $sessions[2] -AsJob -ArgumentList $modulePath, $root -ScriptBlock {
            param($module, $root)
            Import-Module $module
            Add-Content -LiteralPath "$root/data-srv3/new.txt" -Value 'changed since the first backup'
            Start-AzBackup -Path "$root/data-srv3" -PassphraseFile "$root/srv3.passphrase" -Verbose
            Get-AzRecoveryPoint -PassphraseFile "$root/srv1.passphrase"
        }
        $null = Wait-Job -Job $job -Timeout 120
        $child = $job.ChildJobs[0]
        # Read before Receive-Job, which empties them (even with -Keep).
        $progress = @($child.Progress)
        $verbose = @($child.Verbose)
        $output = Receive-Job -Job $job -ErrorAction SilentlyContinue -ErrorVariable remoteErrors
        Remove-Job -Job $job -Force
        @($output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.RecoveryPoint' }).Count | Should -Be 1
        @($progress | Where-Object { $_.Activity -eq 'Backup' }).Count | Should -BeGreaterThan 0 -Because "activities: $(($progress.Activity | Select-Object -Unique) -join ', ')"
        @($verbose | Where-Object { $_.Message -match '^Job \S+ started: Backup' }).Count | Should -Be 1
        $remoteErrors.Count | Should -Be 1
        $remoteErrors[0].FullyQualifiedErrorId | Should -Be 'AZB_PASSPHRASE_WRONG,Get-AzRecoveryPoint'
        $remoteErrors[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        # -ErrorAction Stop stops on the engine's error, with the same id (no stray stderr on the way).
        { Invoke-Command -Session $sessions[2] -ErrorAction Stop -ArgumentList $root -ScriptBlock { param($root) Get-AzRecoveryPoint -PassphraseFile "$root/srv1.passphrase" -ErrorAction Stop } } |
            Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Get-AzRecoveryPoint'
    }

    It 'a deserialized recovery point pipes into Get-AzRecoverableItem and Start-AzRecovery, here and back on its server' {
        $point = $setup[0].Output | Where-Object { $_.PSObject.TypeNames[0] -eq 'Deserialized.AzBackup.RecoveryPoint' }
        # Here, on a machine not registered with the vault: the point names its vault and server.
        $env:AZBACKUP_HOME = $adminHome
        $items = $point | Get-AzRecoverableItem -PassphraseFile (Join-Path $root 'srv1.passphrase') -ErrorAction Stop
        $items.Name | Should -Contain (Join-Path $root 'data-srv1')
        $target = Join-Path $root 'restore-srv1'
        $restored = $point | Start-AzRecovery -Target $target -PassphraseFile (Join-Path $root 'srv1.passphrase') -ErrorAction Stop
        $restored.PSObject.TypeNames[0] | Should -Be 'AzBackup.RestoreResult'
        $source = Join-Path $root 'data-srv1'
        Get-TestTreeHash (Join-Path $target $source) | Should -Be (Get-TestTreeHash $source)
        # Back on its server, as an argument: deserialized once more, it still binds.
        $remoteItems = Invoke-Command -Session $sessions[0] -ArgumentList $point, $root, $modulePath -ScriptBlock {
            param($point, $root, $module)
            Import-Module $module
            $point | Get-AzRecoverableItem -PassphraseFile "$root/srv1.passphrase" -ErrorAction Stop
        }
        ($remoteItems.Name | Sort-Object) | Should -Be ($items.Name | Sort-Object)
    }

    It 'a deserialized policy does not pipe into Set-AzBackupPolicy: AZB_POLICY_INVALID, nothing saved' {
        $policy = Invoke-Command -Session $sessions[0] -ArgumentList $modulePath -ScriptBlock { param($module) Import-Module $module; New-AzBackupPolicy -Name 'pushed' }
        $policy.PSObject.TypeNames[0] | Should -Be 'Deserialized.AzBackup.Policy'
        $env:AZBACKUP_HOME = $adminHome
        { $policy | Set-AzBackupPolicy -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_POLICY_INVALID,Set-AzBackupPolicy'
        Join-Path $adminHome 'policies' | Should -Not -Exist
    }
}
