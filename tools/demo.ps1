# The main job for now: create a certificate and check it, through the AzBackup module and engine.
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../module/AzBackup.psd1') -Force
$directory = Join-Path ([System.IO.Path]::GetTempPath()) "azbackup-demo-$PID"
$null = New-Item -ItemType Directory -Path $directory -Force
try {
    # A demo password; a real one comes from Read-Host -AsSecureString or a secret store.
    $password = ConvertTo-SecureString -String "demo-$([guid]::NewGuid())" -AsPlainText -Force
    Get-AzBackupEngine | Format-List
    $certificate = New-AzBackupCertificate -Subject "CN=$([System.Net.Dns]::GetHostName())-demo" -OutputDirectory $directory -PfxPassword $password
    $certificate | Format-Table
    $certificate | Test-AzBackupCertificate | Format-Table
    Test-AzBackupCertificate -Path $certificate.PrivateKeyPath -Password $password -RequirePrivateKey | Format-Table
} finally {
    Remove-Item -LiteralPath $directory -Recurse -Force
}
