# The module's own handling of engine output: error mapping, stderr isolation, exit codes. Fake engines
# are used only here, where the test is about the module, not the engine.
BeforeAll {
    . (Join-Path $PSScriptRoot '../helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:dir = New-TestDirectory
    $script:savedEngine = $env:AZBACKUP_ENGINE
    $script:cer = (New-AzBackupCertificate -Subject 'CN=mapping' -OutputDirectory $dir -PfxPassword (New-TestSecureString)).CertificatePath
}
AfterAll {
    $env:AZBACKUP_ENGINE = $script:savedEngine
    Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Engine errors in PowerShell' {
    AfterEach { $env:AZBACKUP_ENGINE = $script:savedEngine }

    It 'raises exactly one terminating error carrying the engine code under -ErrorAction Stop' {
        $caught = @()
        try {
            New-AzBackupCertificate -Subject 'CN=x' -KeySize 1024 -OutputDirectory $dir -PfxPassword (New-TestSecureString) -ErrorAction Stop
        } catch {
            $caught += $_
        }
        $caught.Count | Should -Be 1
        $caught[0].FullyQualifiedErrorId | Should -Be 'AZB_CERT_KEY_TOO_SHORT,New-AzBackupCertificate'
        $caught[0].Exception.Data['AzBackupCode'] | Should -Be 'AZB_CERT_KEY_TOO_SHORT'
    }

    It 'writes one non-terminating error by default and lets the script go on' {
        $Error.Clear()
        $out = New-AzBackupCertificate -Subject 'CN=x' -KeySize 1024 -OutputDirectory $dir -PfxPassword (New-TestSecureString) -ErrorAction SilentlyContinue -ErrorVariable errs
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 1
    }

    It 'keeps the error code across a process boundary (background job, as with remoting)' {
        $module = Join-Path $PSScriptRoot '../../module/AzBackup.psd1'
        $job = Start-Job -ScriptBlock {
            param($module, $dir)
            Import-Module $module
            $pw = ConvertTo-SecureString 'job-password-1' -AsPlainText -Force
            try { New-AzBackupCertificate -Subject 'CN=x' -KeySize 1024 -OutputDirectory $dir -PfxPassword $pw -ErrorAction Stop; 'no error' }
            catch { $_.FullyQualifiedErrorId }
        } -ArgumentList $module, $dir
        $result = $job | Wait-Job -Timeout 120 | Receive-Job
        $job | Remove-Job -Force
        $result | Should -Be 'AZB_CERT_KEY_TOO_SHORT,New-AzBackupCertificate'
    }

    It 'maps the engine category, target and hint onto the ErrorRecord' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir -ExitCode 1 -Lines @(
            '{"type":"error","code":"AZB_TEST_DENIED","category":"PermissionDenied","message":"Denied on purpose.","hint":"Ask an admin.","target":"/some/path","exitCode":1}')
        $err = { Test-AzBackupCertificate -Path $cer -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_TEST_DENIED,Test-AzBackupCertificate' -PassThru
        $err.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err.TargetObject | Should -Be '/some/path'
        $err.ErrorDetails.RecommendedAction | Should -Be 'Ask an admin.'
        $err.Exception.Message | Should -Be 'Denied on purpose.'
    }

    It 'maps an unknown category to NotSpecified' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir -ExitCode 1 -Lines @(
            '{"type":"error","code":"AZB_TEST_ODD","category":"NoSuchCategory","message":"Odd.","exitCode":1}')
        $err = { Test-AzBackupCertificate -Path $cer -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_TEST_ODD,Test-AzBackupCertificate' -PassThru
        $err.CategoryInfo.Category | Should -Be 'NotSpecified'
    }

    It 'never lets raw engine stderr reach the error stream' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir -ExitCode 0 -Stderr 'raw noise on stderr' -Lines @(
            '{"type":"item","kind":"CertificateRule","data":{"path":"p","rule":"X509Version3","status":"Passed","passed":true,"detail":"d"}}')
        $Error.Clear()
        $out = Test-AzBackupCertificate -Path $cer -ErrorAction Stop
        $out.Rule | Should -Be 'X509Version3'
        $Error.Count | Should -Be 0
    }

    It 'turns a crash without an error event into one AZB_ENGINE_FAILED error with the engine output' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir -ExitCode 70 -Stderr 'segfault-ish failure'
        $err = { Test-AzBackupCertificate -Path $cer -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ENGINE_FAILED,Test-AzBackupCertificate' -PassThru
        $err.Exception.Message | Should -BeLike '*exit code 70*segfault-ish failure*'
    }

    It 'sends progress to Write-Progress, logs to Write-Verbose and warnings to Write-Warning' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir -ExitCode 3 -Lines @(
            '{"type":"progress","activity":"Testing","status":"half way","percent":50}'
            '{"type":"log","level":"verbose","message":"a verbose line"}'
            '{"type":"warning","code":"AZB_TEST_WARN","message":"a warning line"}'
            'this line is not JSON and is ignored'
            '{"type":"result","kind":"CertificateTest","data":{"path":"p","compliant":true,"failedRules":[],"hasPrivateKey":false}}')
        $verbose = Test-AzBackupCertificate -Path $cer -Quiet -Verbose -WarningVariable warnings -WarningAction SilentlyContinue 4>&1
        ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'a verbose line'
        ($verbose | Where-Object { $_ -is [bool] }) | Should -BeTrue
        "$warnings" | Should -Be 'a warning line'
    }
}

Describe 'Secrets' {
    It 'never puts a password into the engine command line' {
        $password = 'Visible-In-Ps-If-Leaked-42'
        $script = Join-Path $dir 'argv-spy.sh'
        $log = Join-Path $dir 'argv.log'
        Set-Content -LiteralPath $script -Value @"
#!/bin/sh
echo "`$@" >> '$log'
exec '$((Get-AzBackupEngine).Path)' "`$@"
"@
        chmod +x $script
        $env:AZBACKUP_ENGINE = $script
        try {
            $null = New-AzBackupCertificate -Subject 'CN=spy' -OutputDirectory $dir -PfxPassword (New-TestSecureString $password)
        } finally { $env:AZBACKUP_ENGINE = $script:savedEngine }
        Get-Content -LiteralPath $log -Raw | Should -Not -BeLike "*$password*"
        Get-Content -LiteralPath $log -Raw | Should -BeLike '*rpc*'
    }
}
