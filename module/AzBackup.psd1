@{
    RootModule           = 'AzBackup.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0e3a52-7d1c-4b8e-9a57-2c4d8e1b9f30'
    Author               = 'AzBackup developers'
    CompanyName          = 'AzBackup'
    Copyright            = '(c) AzBackup developers. MIT License.'
    Description          = 'Server backup agent: files are chunked, deduplicated, compressed and encrypted with a passphrase that never leaves the server, then stored in a vault (local folder or Azure Blob Storage).'
    PowerShellVersion    = '7.2'
    CompatiblePSEditions = @('Core')
    FunctionsToExport    = @(
        'Add-AzBackupDataSource'
        'Add-AzBackupFileSpec'
        'Add-AzBackupMember'
        'Add-AzBackupVaultCertificate'
        'Enable-AzBackupOnlineProtection'
        'Get-AzBackupEngine'
        'Get-AzBackupFleetReport'
        'Get-AzBackupJob'
        'Get-AzBackupMachineSetting'
        'Get-AzBackupMember'
        'Get-AzBackupPolicy'
        'Get-AzBackupProtectionGroup'
        'Get-AzBackupServer'
        'Get-AzBackupVaultCertificate'
        'Get-AzRecoverableItem'
        'Get-AzRecoveryPoint'
        'Invoke-AzBackupCommand'
        'New-AzBackupCertificate'
        'New-AzBackupFileSpec'
        'New-AzBackupPolicy'
        'New-AzBackupProtectionGroup'
        'New-AzBackupRetentionPolicy'
        'New-AzBackupSchedule'
        'New-AzBackupVault'
        'Register-AzBackupServer'
        'Remove-AzBackupDataSource'
        'Remove-AzBackupFileSpec'
        'Remove-AzBackupMember'
        'Remove-AzBackupPolicy'
        'Remove-AzBackupProtectionGroup'
        'Remove-AzBackupUnusedData'
        'Remove-AzBackupVaultCertificate'
        'Remove-AzRecoveryPoint'
        'Repair-AzBackupVault'
        'Restore-AzRecoveryPoint'
        'Resume-AzBackupPolicy'
        'Set-AzBackupMachineSetting'
        'Set-AzBackupPassphrase'
        'Set-AzBackupPolicy'
        'Set-AzBackupProtectionGroup'
        'Set-AzBackupRetentionPolicy'
        'Set-AzBackupSchedule'
        'Start-AzBackup'
        'Start-AzBackupProtectionGroup'
        'Start-AzRecovery'
        'Stop-AzBackupJob'
        'Suspend-AzBackupPolicy'
        'Test-AzBackupCertificate'
        'Test-AzBackupMember'
        'Test-AzBackupSource'
        'Test-AzBackupVault'
        'Unregister-AzBackupServer'
        'Update-AzBackupServerCertificate'
    )
    CmdletsToExport      = @()
    DscResourcesToExport = @('AzBackupRegistration', 'AzBackupPolicy', 'AzBackupMachineSetting')
    VariablesToExport    = @()
    AliasesToExport      = @()
    FormatsToProcess     = @('AzBackup.Format.ps1xml')
    TypesToProcess       = @('AzBackup.Types.ps1xml')
    PrivateData          = @{
        PSData = @{
            Tags       = @('Backup', 'Azure', 'Restore', 'Encryption', 'Linux', 'Windows')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
        # Protocol versions of the engine this module understands (see core/version.ts).
        AzBackupProtocolVersions = @(1)
    }
}
