function Get-AzBackupVaultCertificate {
    <#
    .SYNOPSIS
        Lists the certificates uploaded to a vault.
    .DESCRIPTION
        Returns one object per certificate in the vault: thumbprint, subject, validity and key size.
        Servers register with the private key of one of these certificates.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one).
    .EXAMPLE
        Get-AzBackupVaultCertificate -Vault /mnt/backup/vault

        Lists the certificates in the vault.
    .EXAMPLE
        Get-AzBackupVaultCertificate | Where-Object NotAfter -LT (Get-Date).AddDays(30)

        Shows the certificates of this server's vault that expire within 30 days.
    .OUTPUTS
        AzBackup.VaultCertificate
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.VaultCertificate')]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault
        Invoke-AzBackupEngine -Command 'vault.certs' -Arguments $arguments -Caller $PSCmdlet -Output Items
    }
}
