function Resolve-AzBackupPassphrase {
    <#
    .SYNOPSIS
        The passphrase to send: -Passphrase when given, else $env:AZBACKUP_PASSPHRASE (as a SecureString)
        when set, else nothing (the engine then says which passphrase it needs).
    #>
    [CmdletBinding()]
    [OutputType([securestring])]
    param(
        [AllowNull()][securestring]$Passphrase
    )
    if ($null -ne $Passphrase) { return $Passphrase }
    if ($env:AZBACKUP_PASSPHRASE) { return (ConvertTo-SecureString -String $env:AZBACKUP_PASSPHRASE -AsPlainText -Force) }
}
