# Loader of the AzBackup module: dot-sources the private helpers and one file per public cmdlet.
# Nothing else runs at import time; the engine is located and probed on first use.

$script:ModuleRoot = $PSScriptRoot
# Engine versions already probed, keyed by path and write time (one probe per engine build and session).
$script:EngineCache = @{}

# Installed (release archive, .deb) the cmdlets sit inside the module folder; in a source checkout they are
# its sibling, cmdlets/.
$cmdletFolder = if (Test-Path -LiteralPath "$PSScriptRoot/cmdlets" -PathType Container) { "$PSScriptRoot/cmdlets" } else { "$PSScriptRoot/../cmdlets" }
foreach ($folder in @("$PSScriptRoot/private", $cmdletFolder)) {
    foreach ($file in Get-ChildItem -Path $folder -Filter '*.ps1' -File | Sort-Object Name) {
        . $file.FullName
    }
}

# ---- Class-based DSC resources (DscResourcesToExport) ---------------------------------------------------
# They live here, in the root module, because DSC and `using module` find classes only there. Each method
# is one call to its helper in private/AzBackupDsc.ps1, which uses the public cmdlets. [DscResource()] and
# [DscProperty()] are attributes of PowerShell itself: the classes load without PSDesiredStateConfiguration.

enum AzBackupEnsure { Absent; Present }

<#
    This server's registration with a vault. Present: Set registers it (Register-AzBackupServer) with
    Certificate and the passphrase. Absent: Set unregisters it (its points stay), which needs the passphrase.
    Passphrase is a PSCredential whose password is the passphrase (any user name); or PassphraseFile.
#>
[DscResource()]
class AzBackupRegistration {
    [DscProperty(Key)] [string]$Vault
    [DscProperty()] [AzBackupEnsure]$Ensure = [AzBackupEnsure]::Present
    [DscProperty()] [string]$Certificate
    [DscProperty()] [pscredential]$CertificatePassword
    [DscProperty()] [pscredential]$Passphrase
    [DscProperty()] [string]$PassphraseFile
    [DscProperty()] [string]$HostName
    [DscProperty(NotConfigurable)] [string]$ServerId
    [DscProperty(NotConfigurable)] [string]$RegisteredHostName

    [AzBackupRegistration] Get() {
        $state = Get-AzBackupDscRegistrationState -Vault $this.Vault
        # Secrets are never part of the state Get returns.
        $current = [AzBackupRegistration]@{ Vault = $this.Vault; Certificate = $this.Certificate; HostName = $this.HostName; PassphraseFile = $this.PassphraseFile }
        foreach ($key in $state.Keys) { $current.$key = $state[$key] }
        return $current
    }
    [bool] Test() { return Test-AzBackupDscRegistration -Resource $this }
    [void] Set() { Set-AzBackupDscRegistration -Resource $this }
}

<#
    A backup policy of this server, by name: file specs (with exclusions), schedule (days, times) and daily
    retention. Properties left empty are not managed. With Passphrase (or PassphraseFile) the passphrase is
    stored for unattended runs; the engine checks it opens the key first. Absent: the policy is removed
    (its points stay).
#>
[DscResource()]
class AzBackupPolicy {
    [DscProperty(Key)] [string]$Name
    [DscProperty()] [AzBackupEnsure]$Ensure = [AzBackupEnsure]::Present
    [DscProperty()] [string[]]$FileSpec
    [DscProperty()] [string[]]$Exclude
    [DscProperty()] [string[]]$DaysOfWeek
    [DscProperty()] [string[]]$TimesOfDay
    [DscProperty()] [int]$RetentionDays
    [DscProperty()] [pscredential]$Passphrase
    [DscProperty()] [string]$PassphraseFile
    [DscProperty(NotConfigurable)] [string]$State
    [DscProperty(NotConfigurable)] [bool]$PassphraseStored

    [AzBackupPolicy] Get() {
        $found = Get-AzBackupDscPolicyState -Name $this.Name
        $current = [AzBackupPolicy]@{ Name = $this.Name; PassphraseFile = $this.PassphraseFile }
        foreach ($key in $found.Keys) { $current.$key = $found[$key] }
        return $current
    }
    [bool] Test() { return Test-AzBackupDscPolicy -Resource $this }
    [void] Set() { Set-AzBackupDscPolicy -Resource $this }
}

<#
    This machine's settings (one instance: IsSingleInstance = 'Yes'): upload concurrency, throttling by work
    hours (or NoThrottle), proxy (or NoProxy), metrics file (or NoMetricsFile). Properties left empty are not
    managed. A proxy password is not a property: Set-AzBackupMachineSetting -ProxyCredential stores it.
#>
[DscResource()]
class AzBackupMachineSetting {
    [DscProperty(Key)] [ValidateSet('Yes')] [string]$IsSingleInstance
    [DscProperty()] [int]$UploadConcurrency
    [DscProperty()] [string[]]$WorkDay
    [DscProperty()] [Nullable[int]]$StartWorkHour
    [DscProperty()] [Nullable[int]]$EndWorkHour
    [DscProperty()] [Nullable[long]]$WorkHourBandwidth
    [DscProperty()] [Nullable[long]]$NonWorkHourBandwidth
    [DscProperty()] [bool]$NoThrottle
    [DscProperty()] [string]$ProxyServer
    [DscProperty()] [Nullable[int]]$ProxyPort
    [DscProperty()] [bool]$NoProxy
    [DscProperty()] [string]$MetricsFile
    [DscProperty()] [bool]$NoMetricsFile

    [AzBackupMachineSetting] Get() {
        $found = Get-AzBackupDscMachineSettingState
        $current = [AzBackupMachineSetting]@{ IsSingleInstance = 'Yes' }
        foreach ($key in $found.Keys) { $current.$key = $found[$key] }
        return $current
    }
    [bool] Test() { return Test-AzBackupDscMachineSetting -Resource $this }
    [void] Set() { Set-AzBackupDscMachineSetting -Resource $this }
}
