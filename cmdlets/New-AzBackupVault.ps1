function New-AzBackupVault {
    <#
    .SYNOPSIS
        Creates a new AzBackup vault in a folder.
    .DESCRIPTION
        Creates the folder if needed and writes the vault's manifest (vault.json) into it. A vault holds
        the encrypted backups of one or more servers; each server keeps its own namespace in it, encrypted
        with its own passphrase. Next steps: upload a certificate with Add-AzBackupVaultCertificate, then
        register each server with Register-AzBackupServer.
        A location that already holds a vault is refused (AZB_VAULT_EXISTS); nothing is overwritten.
    .PARAMETER StorageAccountUrl
        Blob endpoint of an Azure storage account, e.g. https://contoso.blob.core.windows.net (Azurite:
        http://127.0.0.1:10000/devstoreaccount1). The credential comes from the environment:
        AZBACKUP_STORAGE_CONNECTION_STRING, AZBACKUP_STORAGE_KEY, AZBACKUP_STORAGE_SAS, or
        AZBACKUP_STORAGE_AUTH=entra for Microsoft Entra ID.
    .PARAMETER Container
        Name of the blob container that becomes the vault; created when missing.
    .PARAMETER Path
        Folder of the new vault: a local disk, a mounted share or a removable drive. Relative paths are
        resolved against the current PowerShell location.
    .EXAMPLE
        New-AzBackupVault -StorageAccountUrl https://contoso.blob.core.windows.net -Container backups

        Creates a vault in the Azure Blob container 'backups' (credential from the environment).
    .EXAMPLE
        New-AzBackupVault -Path /mnt/backup/vault

        Creates a vault on a mounted disk and shows its ID.
    .EXAMPLE
        $vault = New-AzBackupVault -Path D:\AzBackupVault
        New-AzBackupCertificate -Subject 'CN=srv01' -PfxPassword $password | Add-AzBackupVaultCertificate -Vault $vault.Vault

        Creates a vault and uploads a new certificate to it.
    .EXAMPLE
        New-AzBackupVault -Path /mnt/backup/vault -WhatIf

        Shows what would be created without creating anything.
    .OUTPUTS
        AzBackup.Vault
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.Vault')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'Path')]
        [ValidateNotNullOrEmpty()]
        [string]$Path,

        [Parameter(Mandatory, ParameterSetName = 'Azure')]
        [ValidatePattern('^https?://[^?]+$')]
        [string]$StorageAccountUrl,

        [Parameter(Mandatory, ParameterSetName = 'Azure')]
        [ValidatePattern('^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$')]
        [string]$Container
    )
    $location = if ($PSCmdlet.ParameterSetName -eq 'Azure') {
        $StorageAccountUrl.TrimEnd('/') + '/' + $Container
    } elseif ($Path -match '^[a-z][a-z0-9+.-]*://') { $Path } else { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path) }
    if ($PSCmdlet.ShouldProcess($location, 'Create AzBackup vault')) {
        Invoke-AzBackupEngine -Command 'vault.create' -Arguments @{ vault = $location } -Caller $PSCmdlet -Output Result
    }
}
