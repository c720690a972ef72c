function Add-AzBackupVaultCertificate {
    <#
    .SYNOPSIS
        Uploads a certificate to a vault, so that the server holding its private key can register.
    .DESCRIPTION
        Reads a certificate file (.cer, .pem, or the public part of a .pfx), checks it against every
        vault requirement (the rules of Test-AzBackupCertificate, without the private key) and stores the
        public certificate in the vault. A private key is never uploaded. Uploading a certificate that is
        already in the vault changes nothing and returns it with Uploaded = $false.
    .PARAMETER Vault
        Vault location: the folder given to New-AzBackupVault.
    .PARAMETER Path
        Certificate file(s). Accepts pipeline input by property name, including the output of
        New-AzBackupCertificate (its Path / CertificatePath) and Get-ChildItem (FullName).
    .PARAMETER Password
        Password of a .pfx file, when the certificate is read from one.
    .EXAMPLE
        Add-AzBackupVaultCertificate -Vault /mnt/backup/vault -Path ./srv01.cer

        Uploads srv01.cer; the holder of srv01.pfx can now register with Register-AzBackupServer.
    .EXAMPLE
        New-AzBackupCertificate -Subject 'CN=srv01' -PfxPassword $password | Add-AzBackupVaultCertificate -Vault /mnt/backup/vault

        Creates a certificate and uploads its .cer in one pipeline.
    .EXAMPLE
        Get-ChildItem ./certs/*.cer | Add-AzBackupVaultCertificate -Vault /mnt/backup/vault

        Uploads every certificate in a folder.
    .OUTPUTS
        AzBackup.VaultCertificate
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.VaultCertificate')]
    param(
        [Parameter(Mandatory)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName', 'CertificatePath')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Path,

        [Alias('PfxPassword')]
        [securestring]$Password
    )
    process {
        foreach ($item in $Path) {
            $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault
            $arguments.path = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($item)
            $secrets = @{}
            if ($Password) { $secrets.password = $Password }
            if ($PSCmdlet.ShouldProcess($arguments.vault, "Upload certificate $($arguments.path)")) {
                Invoke-AzBackupEngine -Command 'vault.add-cert' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Result
            }
        }
    }
}
