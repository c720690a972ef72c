function Update-AzBackupServerCertificate {
    <#
    .SYNOPSIS
        Moves this server to a new certificate (renewal), keeping its recovery points and passphrase.
    .DESCRIPTION
        Renews the certificate this server signs its recovery points with, before the old one expires
        (AZB_CERT_EXPIRING warns 30 days ahead) or after it has (AZB_CERT_EXPIRED). Create the new
        certificate (New-AzBackupCertificate) and upload it (Add-AzBackupVaultCertificate) first.

        The old certificate's key endorses the new certificate and the new key proves the server holds
        it; the renewal, written to the vault, lists every recovery point the old certificate signed, so
        those points keep verifying and restoring, and the old certificate signs no new point that any
        reader accepts. This machine's registration then pins the new certificate. The server keeps its
        ID, its points and its passphrase. Afterwards the old certificate is no longer in use and can be
        removed with Remove-AzBackupVaultCertificate.

        Runs only on the registered server itself, with its passphrase. A renewal cut short (the engine
        stopped after writing to the vault) is finished by running the cmdlet again with the same
        certificate.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one).
    .PARAMETER Certificate
        The new certificate's .pfx file, or the PEM file with its private key (as for
        Register-AzBackupServer). Binds by property name from the output of New-AzBackupCertificate
        (PrivateKeyPath; its CertificatePath is the .cer without the key, so the parameter is not named so).
    .PARAMETER CertificatePassword
        Password of the .pfx file or of an encrypted PEM key.
    .PARAMETER Passphrase
        This server's passphrase. If omitted, -PassphraseFile, else $env:AZBACKUP_PASSPHRASE.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
    .PARAMETER CacheDirectory
        The cache location this server uses, when it is not the default.
    .EXAMPLE
        $cert = New-AzBackupCertificate -Subject 'CN=srv01' -OutputDirectory /root/azbackup/2027 -PfxPassword $pfxPassword
        $cert | Add-AzBackupVaultCertificate
        $renewal = $cert | Update-AzBackupServerCertificate -CertificatePassword $pfxPassword -PassphraseFile /root/azbackup-passphrase.txt
        Remove-AzBackupVaultCertificate -Thumbprint $renewal.PreviousCertificate -Confirm:$false

        Creates and uploads a new certificate, moves this server to it, then removes the old one.
    .EXAMPLE
        Update-AzBackupServerCertificate -Certificate ./srv01-2027.pfx -CertificatePassword $pfxPassword -WhatIf

        Says which certificate the server would move to, without changing anything.
    .OUTPUTS
        AzBackup.CertificateRenewal
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('AzBackup.CertificateRenewal')]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('PrivateKeyPath')]
        [ValidateNotNullOrEmpty()]
        [string]$Certificate,

        [Alias('PfxPassword')]
        [securestring]$CertificatePassword,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [ValidateNotNullOrEmpty()]
        [string]$CacheDirectory
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -CacheDirectory $CacheDirectory
        $arguments.certificate = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Certificate)
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        if ($CertificatePassword) { $secrets.password = $CertificatePassword }
        $target = if ($arguments.vault) { "this server in $($arguments.vault)" } else { 'this server' }
        if ($PSCmdlet.ShouldProcess($target, "Sign from now on with the certificate in $($arguments.certificate); the old certificate keeps only the points it signed")) {
            Invoke-AzBackupEngine -Command 'server.renew-cert' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
        }
    }
}
