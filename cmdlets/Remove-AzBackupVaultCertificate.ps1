function Remove-AzBackupVaultCertificate {
    <#
    .SYNOPSIS
        Removes an uploaded certificate from a vault.
    .DESCRIPTION
        Deletes a certificate (.cer) that was uploaded to the vault with Add-AzBackupVaultCertificate,
        for example one that was never used or whose server has been moved to another certificate. A
        certificate that a server of the vault is registered with is refused (AZB_CERT_IN_USE): that
        server's recovery points are verified with it. High impact: asks for confirmation unless
        -Confirm:$false is given.
    .PARAMETER Thumbprint
        The certificate's SHA-1 thumbprint (40 hex digits). Binds by property name from
        Get-AzBackupVaultCertificate.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name.
    .PARAMETER PassThru
        Return the removed certificate (AzBackup.VaultCertificate, Removed = $true).
    .EXAMPLE
        Get-AzBackupVaultCertificate | Where-Object NotAfter -LT (Get-Date) | Remove-AzBackupVaultCertificate

        Removes the expired certificates that no server uses, asking for each (those in use are refused).
    .EXAMPLE
        Remove-AzBackupVaultCertificate -Thumbprint 3F2A9C... -Vault https://acct.blob.core.windows.net/backups -WhatIf

        Shows what would be removed from an Azure vault, without removing it.
    .OUTPUTS
        None, or AzBackup.VaultCertificate with -PassThru
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('AzBackup.VaultCertificate')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidatePattern('^[0-9A-Fa-f]{40}$')]
        [string]$Thumbprint,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [switch]$PassThru
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault
        $arguments.thumbprint = $Thumbprint
        $where = if ($arguments.vault) { " from $($arguments.vault)" } else { '' }
        if ($PSCmdlet.ShouldProcess("certificate $Thumbprint$where", 'Remove')) {
            $removed = Invoke-AzBackupEngine -Command 'vault.remove-cert' -Arguments $arguments -Caller $PSCmdlet -Output Result
            if ($PassThru) { $removed }
        }
    }
}
