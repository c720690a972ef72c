function Register-AzBackupServer {
    <#
    .SYNOPSIS
        Registers this server with a vault, with its certificate and its passphrase.
    .DESCRIPTION
        The server proves it holds the private key of a certificate uploaded to the vault (see
        Add-AzBackupVaultCertificate), then creates its own namespace in the vault, encrypted with the
        passphrase. The registration is saved on this machine (in $env:AZBACKUP_HOME, or the default
        AzBackup folder), so later cmdlets find the vault and this server without -Vault.

        The passphrase (at least 16 characters) encrypts everything before it leaves the server and is
        never stored in the vault. If it is lost, the backups of this server cannot be recovered by
        anyone: keep a copy in a safe place away from the server. The cmdlet says so with a warning.
        With -GeneratePassphrase, a strong random passphrase is generated and written to -PassphraseOutFile
        (a new file, readable by its owner only); it never appears in any output.

        Everything is checked before anything is written: the passphrase, the certificate and its
        private key, the upload of the certificate and the cache location.
    .PARAMETER Vault
        Vault location. Default: the only vault this server is registered with (rarely useful here;
        normally give the vault).
    .PARAMETER Certificate
        The .pfx file, or the PEM file with the private key, of a certificate uploaded to the vault.
        Binds by property name from the output of New-AzBackupCertificate (PrivateKeyPath).
    .PARAMETER CertificatePassword
        Password of the .pfx file or of an encrypted PEM key.
    .PARAMETER Passphrase
        The passphrase that encrypts this server's backups: at least 16 characters. If omitted,
        -PassphraseFile, else $env:AZBACKUP_PASSPHRASE when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase you chose, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It
        must be readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is
        ignored. (Before this version, -PassphraseFile named the file for a generated passphrase: that is
        -PassphraseOutFile now.)
    .PARAMETER GeneratePassphrase
        Generate a strong random passphrase (30 characters, 150 bits) instead of giving one. Requires
        -PassphraseOutFile.
    .PARAMETER PassphraseOutFile
        With -GeneratePassphrase: a new file that receives the generated passphrase, created readable by
        its owner only. An existing file is never replaced.
    .PARAMETER HostName
        Name of this server in the vault. Default: the machine's host name.
    .PARAMETER CacheDirectory
        Cache location for this server (needs 256 MiB free). Default: $env:AZBACKUP_CACHE, else the cache
        folder in the AzBackup home.
    .EXAMPLE
        $passphrase = Read-Host -AsSecureString -Prompt 'Passphrase (16+ characters)'
        Register-AzBackupServer -Vault /mnt/backup/vault -Certificate ./srv01.pfx -CertificatePassword $password -Passphrase $passphrase

        Registers this server with a passphrase you chose.
    .EXAMPLE
        Register-AzBackupServer -Vault /mnt/backup/vault -Certificate ./srv01.pfx -CertificatePassword $password -GeneratePassphrase -PassphraseOutFile /root/azbackup-passphrase.txt

        Registers with a generated passphrase saved in a new file; copy that file somewhere safe.
    .EXAMPLE
        New-AzBackupCertificate -Subject 'CN=srv01' -PfxPassword $password |
            Add-AzBackupVaultCertificate -Vault /mnt/backup/vault
        Register-AzBackupServer -Vault /mnt/backup/vault -Certificate ./srv01.pfx -CertificatePassword $password -Passphrase $passphrase

        The whole set-up of a server: create and upload a certificate, then register.
    .OUTPUTS
        AzBackup.Registration
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Passphrase')]
    [OutputType('AzBackup.Registration')]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [Alias('PrivateKeyPath')]
        [ValidateNotNullOrEmpty()]
        [string]$Certificate,

        [Alias('PfxPassword')]
        [securestring]$CertificatePassword,

        [Parameter(ParameterSetName = 'Passphrase')]
        [securestring]$Passphrase,

        [Parameter(ParameterSetName = 'Passphrase')]
        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [Parameter(Mandatory, ParameterSetName = 'Generate')]
        [switch]$GeneratePassphrase,

        [Parameter(Mandatory, ParameterSetName = 'Generate')]
        [ValidateNotNullOrEmpty()]
        [string]$PassphraseOutFile,

        [ValidateNotNullOrEmpty()]
        [string]$HostName,

        [ValidateNotNullOrEmpty()]
        [string]$CacheDirectory
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -CacheDirectory $CacheDirectory
        $arguments.certificate = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Certificate)
        if ($HostName) { $arguments.hostname = $HostName }
        $secrets = @{}
        if ($CertificatePassword) { $secrets.password = $CertificatePassword }
        if ($PSCmdlet.ParameterSetName -eq 'Generate') {
            $arguments.generatePassphrase = $true
            $arguments.passphraseFile = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($PassphraseOutFile)
        } else {
            $secrets.passphrase = Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile
        }
        $target = if ($arguments.vault) { $arguments.vault } else { 'the vault this server is registered with' }
        if ($PSCmdlet.ShouldProcess($target, "Register this server with certificate $($arguments.certificate)")) {
            Invoke-AzBackupEngine -Command 'register' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output Result
        }
    }
}
