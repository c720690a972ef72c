function Resolve-AzBackupPassphrase {
    <#
    .SYNOPSIS
        The passphrase to send: -Passphrase when given, else nothing when -PassphraseFile is given (the
        engine reads that file), else $env:AZBACKUP_PASSPHRASE (as a SecureString) when set, else nothing
        (the engine then says which passphrase it needs).
    #>
    [CmdletBinding()]
    [OutputType([securestring])]
    param(
        [AllowNull()][securestring]$Passphrase,
        [AllowNull()][AllowEmptyString()][string]$PassphraseFile
    )
    if ($null -ne $Passphrase) { return $Passphrase }
    if ($PassphraseFile) { return }
    if ($env:AZBACKUP_PASSPHRASE) { return (ConvertTo-SecureString -String $env:AZBACKUP_PASSPHRASE -AsPlainText -Force) }
}
