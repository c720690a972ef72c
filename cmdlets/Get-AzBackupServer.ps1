function Get-AzBackupServer {
    <#
    .SYNOPSIS
        Lists the servers registered in a vault.
    .DESCRIPTION
        Returns one object per server namespace in the vault: its ID, host name, registration time and
        certificate, whether its registration proof (a signature with the certificate's private key)
        is valid, and whether it is this server. No passphrase is needed.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one).
    .EXAMPLE
        Get-AzBackupServer -Vault /mnt/backup/vault

        Lists every server that backs up into the vault.
    .EXAMPLE
        Get-AzBackupServer | Where-Object { -not $_.ProofValid }

        Shows registrations whose proof does not verify.
    .OUTPUTS
        AzBackup.Server
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Server')]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault
        Invoke-AzBackupEngine -Command 'servers' -Arguments $arguments -Caller $PSCmdlet -Output Items
    }
}
