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

Describe 'Streaming a command''s output to the engine (-FromCommand)' {
    BeforeAll {
        function script:New-StreamEngine {
            <# A fake engine that saves the request line and the data after it, with a warning between. #>
            param([Parameter(Mandatory)][string]$Directory)
            $version = '{"type":"result","kind":"Version","data":{"engineVersion":"0.0.0-fake","protocolVersion":1,"nodeVersion":"v24.0.0","platform":"fake"}}'
            $result = '{"type":"result","kind":"RecoveryPoint","data":{"pointId":"fake"}}'
            $path = Join-Path $Directory ('stream-engine-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            Set-Content -LiteralPath $path -Value @"
#!/bin/sh
if [ "`$1" = "--version" ]; then echo '$version'; exit 0; fi
IFS= read -r request
printf '%s' "`$request" > '$Directory/request.json'
echo '{"type":"warning","code":"AZB_TEST_EARLY","message":"request read"}'
cat > '$Directory/data.bin'
echo finished > '$Directory/finished'
echo '$result'
"@
            chmod +x $path
            $path
        }
        $script:streamDir = Join-Path $dir 'stream'
        $null = New-Item -ItemType Directory -Path $streamDir -Force
        $script:payload = Join-Path $streamDir 'payload.bin'
        $bytes = [byte[]]::new(3000000)
        [System.Random]::new(7).NextBytes($bytes)
        [System.IO.File]::WriteAllBytes($payload, $bytes)
    }
    BeforeEach {
        Remove-Item -Path (Join-Path $streamDir '*') -Exclude 'payload.bin', 'stream-engine-*' -Force -ErrorAction SilentlyContinue
    }
    AfterEach { $env:AZBACKUP_ENGINE = $script:savedEngine }

    It 'sends the request as the first line, then the command''s stdout byte for byte' {
        $env:AZBACKUP_ENGINE = New-StreamEngine -Directory $streamDir
        $out = Start-AzBackup -FromCommand 'cat' -ArgumentList $payload -StreamName 'payload.bin' -Passphrase (New-TestSecureString 'stream passphrase 123') -WarningAction SilentlyContinue
        $out.PointId | Should -Be 'fake'
        $request = Get-Content -LiteralPath (Join-Path $streamDir 'request.json') -Raw | ConvertFrom-Json
        $request.command | Should -Be 'backup'
        $request.args.stdinName | Should -Be 'payload.bin'
        $request.args.PSObject.Properties.Name | Should -Not -Contain 'paths'
        $request.secrets.passphrase | Should -Be 'stream passphrase 123'
        (Get-FileHash -LiteralPath (Join-Path $streamDir 'data.bin')).Hash | Should -Be (Get-FileHash -LiteralPath $payload).Hash
    }

    It 'keeps passing on engine events while the command is still writing' {
        $env:AZBACKUP_ENGINE = New-StreamEngine -Directory $streamDir
        $events = Start-AzBackup -FromCommand 'sh' -ArgumentList '-c', 'echo start; sleep 2; echo end' -StreamName 'slow.txt' -Passphrase (New-TestSecureString 'stream passphrase 123') 3>&1 |
            ForEach-Object { [pscustomobject]@{ At = [datetime]::UtcNow; Record = $_ } }
        $warning = $events | Where-Object { $_.Record -is [System.Management.Automation.WarningRecord] }
        $result = $events | Where-Object { $_.Record.PSObject.TypeNames -contains 'AzBackup.RecoveryPoint' }
        $warning.Record.Message | Should -Be 'request read'
        ($result.At - $warning.At).TotalSeconds | Should -BeGreaterThan 1.5
        Get-Content -LiteralPath (Join-Path $streamDir 'data.bin') -Raw | Should -Be "start`nend`n"
    }

    It 'kills the engine before it sees the end of the data when the command fails' {
        $env:AZBACKUP_ENGINE = New-StreamEngine -Directory $streamDir
        $out = Start-AzBackup -FromCommand 'sh' -ArgumentList '-c', "cat '$payload'; exit 7" -StreamName 'x.bin' -Passphrase (New-TestSecureString 'stream passphrase 123') `
            -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'AZB_SOURCE_COMMAND_FAILED,Start-AzBackup'
        $errs[0].Exception.Message | Should -BeLike '*exit code 7*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        Join-Path $streamDir 'finished' | Should -Not -Exist
    }

    It 'stops the command when the engine ends first, and reports the engine''s error' {
        # This engine reads the request line only, refuses, and exits with the data unread.
        $refusing = New-StreamEngine -Directory $streamDir
        (Get-Content -LiteralPath $refusing -Raw) -replace '(?s)echo .\{"type":"warning".*$', (
            "echo '{`"type`":`"error`",`"code`":`"AZB_TEST_REFUSED`",`"category`":`"InvalidOperation`",`"message`":`"Refused before reading.`",`"exitCode`":1}'`nexit 1`n") |
            Set-Content -LiteralPath $refusing -NoNewline
        $env:AZBACKUP_ENGINE = $refusing
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $err = { Start-AzBackup -FromCommand 'sleep' -ArgumentList '30' -StreamName 'x.bin' -Passphrase (New-TestSecureString 'stream passphrase 123') -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_TEST_REFUSED,Start-AzBackup' -PassThru
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 15
        Get-Process -Name 'sleep' -ErrorAction SilentlyContinue | Where-Object { $_.Parent.Id -eq $PID } | Should -BeNullOrEmpty
    }
}
