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
    $body = @('#!/bin/sh', 'if [ "$1" = "--version" ]; then', "  echo '$version'", '  exit 0', 'fi', 'cat > /dev/null')
    foreach ($line in $Lines) { $body += "echo '$line'" }
    if ($Stderr) { $body += "echo '$Stderr' >&2" }
    $body += "exit $ExitCode"
    Set-Content -LiteralPath $path -Value ($body -join "`n")
    chmod +x $path
    $path
}
