<#
.SYNOPSIS
    Computer startup script for a domain GPO (or any boot-time runner): puts this server under AzBackup
    and keeps it so.
.DESCRIPTION
    Runs as SYSTEM (root on Linux) at every boot, where no one can answer a prompt. Every step is
    idempotent: run again with the same input it changes nothing and says so (Changed = False), so the
    script may run at every boot, and at the same time as an admin's Invoke-AzBackupCommand.

    Secrets never appear in this script, in the GPO or on a command line. They live in -SecretFolder,
    which only the account running the script can open (the script makes it so):
      passphrase.txt    this server's passphrase. Put it there before the first boot (your provisioning
                        does), or let the first run generate one - then copy it somewhere safe, away from
                        the server, at once: without it this server's backups cannot be recovered.
      certificate.pfx   this server's certificate, made on the first run (its private key never leaves
                        the server), and certificate.cer, its public part uploaded to the vault.
      pfx-password.txt  the random password of certificate.pfx, made on the first run.
    The policy stores the passphrase for its scheduled runs (Set-AzBackupPolicy -StorePassphrase: DPAPI
    machine scope on Windows, systemd-creds or a root-only file on Linux).

    Output: one AzBackup startup summary with what each step changed, for the script's log.
.PARAMETER Vault
    The vault: a folder or share every server can write, or an Azure Blob container URL (its credential
    in an owner-only file: AZBACKUP_STORAGE_KEY_FILE or the like, set machine-wide).
.PARAMETER Path
    What the policy backs up.
.PARAMETER SecretFolder
    Where this server's secrets live (made owner-only).
.EXAMPLE
    Group Policy Management > Computer Configuration > Policies > Windows Settings > Scripts (Startup/Shutdown)
    > Startup > PowerShell Scripts: AzBackup-GpoStartup.ps1, parameters: -Vault \\backup01\vault$ -Path D:\Data
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$Vault,
    [string[]]$Path = @(if ($IsWindows) { 'D:\Data' } else { '/srv/data' }),
    [string]$SecretFolder = $(if ($IsWindows) { Join-Path $env:ProgramData 'AzBackup\secrets' } else { '/etc/azbackup/secrets' }),
    [string]$PolicyName = 'gpo-files',
    [string]$HostName = [System.Net.Dns]::GetHostName(),
    [string[]]$DaysOfWeek = @('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'),
    [timespan[]]$TimesOfDay = @('21:00'),
    [int]$RetentionDays = 30,
    [int]$UploadConcurrency = 4
)
$ErrorActionPreference = 'Stop'
# Preferences do not reach into a module's cmdlets: every error of every step stops the script.
$PSDefaultParameterValues = @{ '*:ErrorAction' = 'Stop' }
if (-not (Get-Module -Name AzBackup)) { Import-Module AzBackup }

# Owner-only: SYSTEM and the Administrators on Windows, the owner (root) elsewhere.
function Protect-SecretItem([string]$Item, [switch]$Folder) {
    if ($IsWindows) {
        $null = icacls $Item /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F'
        if ($LASTEXITCODE -ne 0) { throw "icacls could not protect $Item" }
    } else {
        chmod $(if ($Folder) { '700' } else { '600' }) $Item
        if ($LASTEXITCODE -ne 0) { throw "chmod could not protect $Item" }
    }
}

if (-not (Test-Path -LiteralPath $SecretFolder)) { $null = New-Item -ItemType Directory -Path $SecretFolder -Force }
Protect-SecretItem $SecretFolder -Folder
$passphraseFile = Join-Path $SecretFolder 'passphrase.txt'
$pfxFile = Join-Path $SecretFolder 'certificate.pfx'
$pfxPasswordFile = Join-Path $SecretFolder 'pfx-password.txt'

# The certificate, once: its password is random, kept beside it.
$certificateMade = $false
if (-not (Test-Path -LiteralPath $pfxFile)) {
    $bytes = [byte[]]::new(24)
    [System.Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
    Set-Content -LiteralPath $pfxPasswordFile -Value ([Convert]::ToBase64String($bytes)) -NoNewline
    Protect-SecretItem $pfxPasswordFile
    $pfxPassword = ConvertTo-SecureString -String (Get-Content -LiteralPath $pfxPasswordFile -Raw) -AsPlainText -Force
    $null = New-AzBackupCertificate -Subject "CN=$HostName" -Name 'certificate' -OutputDirectory $SecretFolder -PfxPassword $pfxPassword
    Protect-SecretItem $pfxFile
    $certificateMade = $true
}
$pfxPassword = ConvertTo-SecureString -String (Get-Content -LiteralPath $pfxPasswordFile -Raw) -AsPlainText -Force

# Each step below changes nothing when it is done already, and says so in Changed.
$upload = Add-AzBackupVaultCertificate -Vault $Vault -Path (Join-Path $SecretFolder 'certificate.cer')
$register = @{ Vault = $Vault; Certificate = $pfxFile; CertificatePassword = $pfxPassword; HostName = $HostName }
if (Test-Path -LiteralPath $passphraseFile) {
    $registration = Register-AzBackupServer @register -PassphraseFile $passphraseFile
} else {
    $registration = Register-AzBackupServer @register -GeneratePassphrase -PassphraseOutFile $passphraseFile
    if ($registration.Changed) { Write-Warning "AzBackup generated this server's passphrase in ${passphraseFile}: copy it somewhere safe, away from this server, now." }
}
$policy = New-AzBackupPolicy -Name $PolicyName |
    Add-AzBackupFileSpec -FileSpec $Path |
    Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek $DaysOfWeek -TimesOfDay $TimesOfDay) |
    Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays $RetentionDays) |
    Set-AzBackupPolicy -StorePassphrase -PassphraseFile $passphraseFile -Confirm:$false
$setting = Set-AzBackupMachineSetting -UploadConcurrency $UploadConcurrency -Confirm:$false

[pscustomobject]@{
    PSTypeName      = 'AzBackup.StartupSummary'
    HostName        = $HostName
    ServerId        = $registration.ServerId
    Certificate     = $upload.Thumbprint
    CertificateMade = $certificateMade
    Uploaded        = [bool]$upload.Changed
    Registered      = [bool]$registration.Changed
    PolicyChanged   = [bool]$policy.Changed
    SettingsChanged = [bool]$setting.Changed
}
