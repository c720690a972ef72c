# Group Policy and DSC run the same configuration again and again: each configuration cmdlet, given the
# same input twice, changes nothing the second time and says so (Changed = False, and a verbose message),
# and the README's GPO startup sample (samples/AzBackup-GpoStartup.ps1) sets a server up on its first run
# and changes nothing on the next ones. Schedules go to cron files in a temp folder, never to /etc.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:serverHome = New-TestHome -Root $root
    $env:AZBACKUP_SCHEDULER = 'cron'
    $env:AZBACKUP_UNIT_ROOT = Join-Path $root 'units'
    $script:vault = (New-AzBackupVault -Path (Join-Path $root 'vault') -ErrorAction Stop).Vault
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:secrets = Join-Path $root 'secrets'
    $script:sample = Join-Path $PSScriptRoot '../samples/AzBackup-GpoStartup.ps1'
    $script:sampleArgs = @{ Vault = $vault; Path = $data; SecretFolder = $secrets; HostName = 'gpo-srv'; UploadConcurrency = 3 }
    $script:cronFile = Join-Path $env:AZBACKUP_UNIT_ROOT 'etc/cron.d/azbackup-policy-gpo-files'

    # What the configuration leaves on disk, to prove a second run writes nothing.
    function script:Get-ConfigurationState {
        $files = @(Get-ChildItem -LiteralPath $serverHome -Recurse -File | Where-Object { $_.FullName -notmatch '/(cache|jobs)' -and $_.Name -notmatch '^jobs\.db' }) +
            @(Get-ChildItem -LiteralPath $vault -Recurse -File) + @(Get-Item -LiteralPath $cronFile)
        ($files | Sort-Object FullName | ForEach-Object { '{0} {1} {2}' -f $_.FullName, $_.LastWriteTimeUtc.Ticks, (Get-FileHash -LiteralPath $_.FullName).Hash }) -join "`n"
    }
    $script:first = & $sample @sampleArgs 3>$null
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    foreach ($name in 'AZBACKUP_SCHEDULER', 'AZBACKUP_UNIT_ROOT') { [System.Environment]::SetEnvironmentVariable($name, $null) }
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The GPO startup sample' {
    It 'sets the server up on its first run, with its secrets in an owner-only folder' {
        $first.PSObject.TypeNames[0] | Should -Be 'AzBackup.StartupSummary'
        $first.CertificateMade, $first.Uploaded, $first.Registered, $first.PolicyChanged, $first.SettingsChanged | Should -Be @($true, $true, $true, $true, $true)
        (Get-AzBackupServer -Vault $vault -ErrorAction Stop).HostName | Should -Be 'gpo-srv'
        (Get-AzBackupPolicy -Name gpo-files -ErrorAction Stop).PassphraseStored | Should -BeTrue
        (Get-AzBackupMachineSetting -ErrorAction Stop).UploadConcurrency | Should -Be 3
        $cronFile | Should -Exist
        [int](Get-Item -LiteralPath $secrets).UnixFileMode | Should -Be ([Convert]::ToInt32('700', 8))
        foreach ($file in 'passphrase.txt', 'pfx-password.txt', 'certificate.pfx') {
            [int](Get-Item -LiteralPath (Join-Path $secrets $file)).UnixFileMode | Should -Be ([Convert]::ToInt32('600', 8)) -Because $file
        }
        # The generated passphrase opens the namespace.
        Get-AzRecoveryPoint -PassphraseFile (Join-Path $secrets 'passphrase.txt') -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'changes nothing on the next runs, says so, and writes no file' {
        $before = Get-ConfigurationState
        $second = & $sample @sampleArgs 3>$null
        $second.CertificateMade, $second.Uploaded, $second.Registered, $second.PolicyChanged, $second.SettingsChanged | Should -Be @($false, $false, $false, $false, $false)
        $second.ServerId | Should -Be $first.ServerId
        Get-ConfigurationState | Should -Be $before
        @(Get-AzBackupServer -Vault $vault -ErrorAction Stop).Count | Should -Be 1
    }

    It 'puts back a schedule removed by hand, and says that it changed something' {
        Remove-Item -LiteralPath $cronFile
        $third = & $sample @sampleArgs 3>$null
        $third.PolicyChanged | Should -BeTrue
        $third.Registered, $third.Uploaded, $third.SettingsChanged | Should -Be @($false, $false, $false)
        $cronFile | Should -Exist
    }

    It 'stops with AZB_PASSPHRASE_WRONG when the passphrase file no longer opens the server, and registers nothing new' {
        $file = Join-Path $secrets 'passphrase.txt'
        $kept = Get-Content -LiteralPath $file -Raw
        try {
            Set-Content -LiteralPath $file -Value 'not the passphrase of this server' -NoNewline
            { & $sample @sampleArgs 3>$null } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Register-AzBackupServer'
        } finally {
            Set-Content -LiteralPath $file -Value $kept -NoNewline
        }
        @(Get-AzBackupServer -Vault $vault -ErrorAction Stop).Count | Should -Be 1
    }
}

Describe 'Configuration cmdlets given the same input twice' {
    It 'Set-AzBackupMachineSetting: Changed, then not, with a verbose message' {
        (Set-AzBackupMachineSetting -UploadConcurrency 7 -ErrorAction Stop).Changed | Should -BeTrue
        $again = Set-AzBackupMachineSetting -UploadConcurrency 7 -Verbose -ErrorAction Stop 4>&1
        ($again | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'The machine settings are already as given: nothing changed.'
        ($again | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.MachineSetting' }).Changed | Should -BeFalse
    }

    It 'Add-AzBackupVaultCertificate: Changed, then not' {
        $certificate = New-AzBackupCertificate -Subject 'CN=second' -OutputDirectory $root -PfxPassword (New-TestSecureString) -ErrorAction Stop
        ($certificate | Add-AzBackupVaultCertificate -Vault $vault -ErrorAction Stop).Changed | Should -BeTrue
        ($certificate | Add-AzBackupVaultCertificate -Vault $vault -ErrorAction Stop).Changed | Should -BeFalse
    }

    It 'Set-AzBackupPolicy: a changed schedule is Changed, the same one again is not' {
        $passphraseFile = Join-Path $secrets 'passphrase.txt'
        $changed = Get-AzBackupPolicy -Name gpo-files -ErrorAction Stop |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Saturday -TimesOfDay 03:00) |
            Set-AzBackupPolicy -PassphraseFile $passphraseFile -Force -Confirm:$false -ErrorAction Stop
        $changed.Changed | Should -BeTrue
        $cronText = Get-Content -LiteralPath $cronFile -Raw
        $cronText | Should -Match '(?m)^0 3 \* \* 6 ' -Because $cronText
        $same = Get-AzBackupPolicy -Name gpo-files -ErrorAction Stop | Set-AzBackupPolicy -PassphraseFile $passphraseFile -Force -Confirm:$false -ErrorAction Stop
        $same.Changed | Should -BeFalse
        Get-Content -LiteralPath $cronFile -Raw | Should -Be $cronText
    }
}
