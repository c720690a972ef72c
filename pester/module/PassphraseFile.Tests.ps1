# -PassphraseFile across the module: every cmdlet that reads a passphrase takes it from an owner-only
# file instead (the engine reads the file: the passphrase never passes through PowerShell), and the
# files that receive a generated passphrase are -PassphraseOutFile.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../../module/AzBackup.psd1') -Force
    $script:readers = @(Get-Command -Module AzBackup | Where-Object { $_.Parameters['Passphrase'].ParameterType -eq [securestring] })
}
BeforeAll {
    . (Join-Path $PSScriptRoot '../helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'file-srv'
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $script:units = Join-Path $root 'units'
    $env:AZBACKUP_UNIT_ROOT = $units
    $env:AZBACKUP_SCHEDULER = 'cron'

    function script:New-PassphraseFile([string]$Name, [string]$Text) {
        $file = Join-Path $root $Name
        Set-Content -LiteralPath $file -Value $Text
        chmod 600 $file
        $file
    }
    $script:ppFile = New-PassphraseFile 'current.pw' $srv.PassphraseText
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe '<_.Name> -PassphraseFile' -ForEach $readers {
    It 'has -PassphraseFile, a path, beside -Passphrase, with help' {
        $_.Parameters.Keys | Should -Contain 'PassphraseFile'
        $_.Parameters['PassphraseFile'].ParameterType | Should -Be ([string])
        (Get-Help $_.Name -Parameter PassphraseFile).Description.Text | Should -Match 'owner'
    }
}

Describe 'Cmdlets reading the passphrase from a file' {
    BeforeEach {
        $env:AZBACKUP_HOME = $srv.Home
        # A wrong passphrase in the environment: the file given must win over it.
        $env:AZBACKUP_PASSPHRASE = 'a wrong passphrase from the environment'
    }
    AfterEach { $env:AZBACKUP_PASSPHRASE = $null }

    It 'backs up, lists, browses, checks, restores, removes and brings back a point with -PassphraseFile' {
        $point = Start-AzBackup -Path $data -PassphraseFile $ppFile -Verbose 4>&1 | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $point.PointId | Should -Match '^[0-9a-f]{64}$'
        (Get-AzRecoveryPoint -PassphraseFile $ppFile).PointId | Should -Contain $point.PointId
        @(Get-AzRecoverableItem -PointId $point.PointId -PassphraseFile $ppFile).Count | Should -BeGreaterThan 0
        (Test-AzBackupVault -PassphraseFile $ppFile -ErrorAction Stop | Where-Object { $_.PSObject.TypeNames[0] -eq 'AzBackup.CheckResult' }).Problems | Should -Be 0
        $target = Join-Path $root 'restored'
        $null = Start-AzRecovery -PointId $point.PointId -Target $target -PassphraseFile $ppFile
        Get-TestTreeHash -Path (Join-Path $target $data) | Should -Be (Get-TestTreeHash -Path $data)
        Remove-AzRecoveryPoint -PointId $point.PointId -PassphraseFile $ppFile -Confirm:$false
        (Get-AzRecoveryPoint -Deleted -PassphraseFile $ppFile).PointId | Should -Be $point.PointId
        $null = Restore-AzRecoveryPoint -PointId $point.PointId -PassphraseFile $ppFile -Confirm:$false
        (Get-AzRecoveryPoint -PassphraseFile $ppFile).PointId | Should -Contain $point.PointId
        $plan = Remove-AzBackupUnusedData -PassphraseFile $ppFile -WhatIf -ErrorAction Stop
        $plan | Should -BeNullOrEmpty
    }

    It 'stores the passphrase for a policy and removes the policy with -PassphraseFile' {
        $policy = New-AzBackupPolicy -Name 'filed' |
            Add-AzBackupFileSpec -FileSpec (New-AzBackupFileSpec -FileSpec $data) |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Monday -TimesOfDay '21:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 7)
        $saved = $policy | Set-AzBackupPolicy -StorePassphrase -PassphraseFile $ppFile -Confirm:$false
        $saved.PassphraseStored | Should -Match 'file: '
        $env:AZBACKUP_PASSPHRASE = $null
        $run = Start-AzBackup -PolicyName 'filed' # the stored copy, which came from the file
        @($run).Count | Should -BeGreaterThan 0
        $removed = Remove-AzBackupPolicy -Name 'filed' -DeleteBackup -PassphraseFile $ppFile -Confirm:$false
        $removed.PointsExpired | Should -BeGreaterThan 0
    }

    It 'changes the passphrase with -PassphraseFile and -NewPassphraseFile, and registers with -PassphraseFile' {
        $newFile = New-PassphraseFile 'new.pw' 'The new passphrase, from a file 2027'
        $null = Set-AzBackupPassphrase -PassphraseFile $ppFile -NewPassphraseFile $newFile -Confirm:$false -WarningAction SilentlyContinue
        { Get-AzRecoveryPoint -PassphraseFile $ppFile -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_PASSPHRASE_WRONG,Get-AzRecoveryPoint'
        @(Get-AzRecoveryPoint -PassphraseFile $newFile).Count | Should -BeGreaterThan 0
        $null = Set-AzBackupPassphrase -PassphraseFile $newFile -NewPassphraseFile $ppFile -Confirm:$false -WarningAction SilentlyContinue

        $null = New-TestHome -Root $root
        $cert = New-AzBackupCertificate -Subject 'CN=file-srv-2' -OutputDirectory $root -PfxPassword $srv.PfxPassword
        $null = $cert | Add-AzBackupVaultCertificate -Vault $srv.Vault
        $reg = Register-AzBackupServer -Vault $srv.Vault -Certificate $cert.PrivateKeyPath -CertificatePassword $srv.PfxPassword -PassphraseFile $newFile -WarningAction SilentlyContinue
        $reg.Hostname | Should -Not -BeNullOrEmpty
        @(Get-AzRecoveryPoint -PassphraseFile $newFile) | Should -BeNullOrEmpty # its own, new namespace opens with the file's passphrase
    }

    It 'refuses <Case> with <Code>, never showing the passphrase' -ForEach @(
        @{ Case = 'a file others can read'; Code = 'AZB_SECRET_FILE_UNPROTECTED'; Make = { $f = Join-Path $root 'wide.pw'; Set-Content -LiteralPath $f -Value $srv.PassphraseText; chmod 644 $f; $f } }
        @{ Case = 'a missing file'; Code = 'AZB_FILE_NOT_FOUND'; Make = { Join-Path $root 'missing.pw' } }
        @{ Case = 'a folder'; Code = 'AZB_PATH_IS_DIRECTORY'; Make = { $d = Join-Path $root 'a-folder'; $null = New-Item -ItemType Directory -Path $d -Force; chmod 700 $d; $d } }
        @{ Case = 'a file with the wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Make = { New-PassphraseFile 'wrong.pw' 'not the passphrase of this server' } }
    ) {
        $file = & $Make
        $err = { Get-AzRecoveryPoint -PassphraseFile $file -ErrorAction Stop } | Should -Throw -ErrorId "$Code,Get-AzRecoveryPoint" -PassThru
        "$($err.Exception.Message) $($err.ErrorDetails.RecommendedAction)" | Should -Not -Match ([regex]::Escape($srv.PassphraseText))
    }

    It 'refuses -Passphrase together with -PassphraseFile (AZB_SECRET_SOURCE)' {
        { Get-AzRecoveryPoint -Passphrase $srv.Passphrase -PassphraseFile $ppFile -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_SECRET_SOURCE,Get-AzRecoveryPoint'
    }

    It 'writes a generated passphrase to -PassphraseOutFile (Register-AzBackupServer, Set-AzBackupPassphrase)' {
        (Get-Command Register-AzBackupServer).Parameters.Keys | Should -Contain 'PassphraseOutFile'
        (Get-Command Set-AzBackupPassphrase).Parameters.Keys | Should -Contain 'PassphraseOutFile'
        (Get-Command Set-AzBackupPassphrase).Parameters.Keys | Should -Contain 'NewPassphraseFile'
    }
}
