function Test-AzBackupCertificate {
    <#
    .SYNOPSIS
        Checks a certificate file against every requirement of an AzBackup vault.
    .DESCRIPTION
        Reads a .cer (DER or PEM), .pem or .pfx file and checks each rule, returning one result per rule:
          X509Version3             the certificate is X.509 version 3;
          RsaKeySize               the key is RSA with at least 2048 bits;
          ClientAuthenticationEku  the Client Authentication extended key usage is present;
          ValidityPeriod           the certificate is valid for at most 3 years;
          TimeValid                it is neither expired nor not yet valid;
          PrivateKey               the matching private key is in the file (checked with -RequirePrivateKey).
        A file that cannot be read at all (missing, a directory, not a certificate, wrong password) gives
        an error instead.
    .PARAMETER Path
        Certificate file(s). Accepts pipeline input, including the output of New-AzBackupCertificate and Get-ChildItem.
    .PARAMETER Password
        Password of a .pfx file or of an encrypted PEM key.
    .PARAMETER RequirePrivateKey
        Fail the PrivateKey rule unless the file holds the private key matching the certificate.
    .PARAMETER Quiet
        Return $true when every rule passes, $false otherwise, instead of the rule results.
    .EXAMPLE
        Test-AzBackupCertificate -Path .\srv01.cer

        Shows each rule with its status and detail.
    .EXAMPLE
        Test-AzBackupCertificate -Path .\srv01.pfx -Password $password -RequirePrivateKey

        Also checks that the .pfx holds the private key that registration needs.
    .EXAMPLE
        if (-not (Test-AzBackupCertificate .\srv01.cer -Quiet)) { throw 'Certificate does not meet AzBackup requirements' }

        Uses the certificate check as a guard in a script.
    .EXAMPLE
        Get-ChildItem C:\AzBackup\certs\*.cer | Test-AzBackupCertificate | Where-Object { -not $_.Passed }

        Lists every failed rule of every certificate in a folder.
    .OUTPUTS
        AzBackup.CertificateRule, or System.Boolean with -Quiet
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.CertificateRule', [bool])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName', 'CertificatePath')]
        [ValidateNotNullOrEmpty()]
        [string[]]$Path,

        [Alias('PfxPassword')]
        [securestring]$Password,

        [switch]$RequirePrivateKey,

        [switch]$Quiet
    )
    process {
        foreach ($item in $Path) {
            $arguments = @{
                path              = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($item)
                requirePrivateKey = $RequirePrivateKey.IsPresent
            }
            $secrets = @{}
            if ($Password) { $secrets.password = $Password }
            if ($Quiet) {
                $summary = Invoke-AzBackupEngine -Command 'cert.test' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Result
                if ($summary) { [bool]$summary.Compliant } else { $false }
            } else {
                Invoke-AzBackupEngine -Command 'cert.test' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Items
            }
        }
    }
}
