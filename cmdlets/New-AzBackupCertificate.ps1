function New-AzBackupCertificate {
    <#
    .SYNOPSIS
        Creates the self-signed certificate that a server uses to register with an AzBackup vault.
    .DESCRIPTION
        Generates an RSA key pair and a self-signed X.509 v3 certificate with the Client Authentication
        extended key usage, valid for -ValidityDays (default 365, at most 3 years). Writes two files in
        -OutputDirectory:
          <Name>.cer  the public certificate (DER) that you upload to the vault;
          <Name>.pfx  the certificate with its private key, protected by -PfxPassword
                      (or <Name>.key, a PKCS#8 PEM key, with -KeyFormat Pem).
        Private key files are created readable by their owner only. Existing files are never replaced
        unless you give -Force. This replaces the MakeCert step of older backup agents.
    .PARAMETER Subject
        Subject of the certificate: 'CN=server01' or 'CN=server01, O=Contoso'. A bare name becomes CN=name.
    .PARAMETER Name
        Base name of the files. Default: the CN, with characters unsafe in file names replaced by '_'.
    .PARAMETER OutputDirectory
        Existing directory for the files. Default: the current location.
    .PARAMETER KeySize
        RSA key size in bits: 2048 (default), 3072 or 4096. Smaller keys are refused.
    .PARAMETER ValidityDays
        Days the certificate is valid, from now. Default 365; at most 3 years.
    .PARAMETER KeyFormat
        Pfx (default): PKCS#12 file protected by -PfxPassword. Pem: PKCS#8 key, encrypted when -PfxPassword is given.
    .PARAMETER PfxPassword
        Password that protects the private key file. Required for -KeyFormat Pfx.
    .PARAMETER Force
        Replace existing files of the same name.
    .EXAMPLE
        $password = Read-Host -AsSecureString -Prompt 'PFX password'
        New-AzBackupCertificate -Subject 'CN=srv01' -PfxPassword $password

        Creates srv01.cer and srv01.pfx in the current directory and shows the thumbprint.
    .EXAMPLE
        New-AzBackupCertificate -Subject 'CN=srv01, O=Contoso' -KeySize 4096 -ValidityDays 730 -OutputDirectory C:\AzBackup\certs -PfxPassword $password

        Creates a 4096-bit certificate valid for two years in C:\AzBackup\certs.
    .EXAMPLE
        New-AzBackupCertificate -Subject 'CN=srv01' -PfxPassword $password | Test-AzBackupCertificate

        Creates a certificate and checks it against every AzBackup requirement.
    .EXAMPLE
        New-AzBackupCertificate -Subject 'CN=srv01' -PfxPassword $password -WhatIf

        Shows what would be created without creating anything.
    .OUTPUTS
        AzBackup.Certificate
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.Certificate')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]$Subject,

        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [ValidateNotNullOrEmpty()]
        [string]$OutputDirectory = '.',

        [int]$KeySize = 2048,

        [int]$ValidityDays = 365,

        [ValidateSet('Pfx', 'Pem')]
        [string]$KeyFormat = 'Pfx',

        [Alias('Password')]
        [securestring]$PfxPassword,

        [switch]$Force
    )
    $directory = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($OutputDirectory)
    $arguments = @{
        subject         = $Subject
        outputDirectory = $directory
        keySize         = $KeySize
        validityDays    = $ValidityDays
        keyFormat       = $KeyFormat.ToLowerInvariant()
        force           = $Force.IsPresent
    }
    if ($Name) { $arguments.name = $Name }
    $secrets = @{}
    if ($PfxPassword) { $secrets.password = $PfxPassword }

    if ($PSCmdlet.ShouldProcess($directory, "Create certificate '$Subject' ($KeySize-bit RSA, $ValidityDays days, $KeyFormat key)")) {
        Invoke-AzBackupEngine -Command 'cert.new' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Result
    }
}
