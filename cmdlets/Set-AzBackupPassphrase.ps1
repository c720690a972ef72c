function Set-AzBackupPassphrase {
    <#
    .SYNOPSIS
        Changes the passphrase of a server's backups.
    .DESCRIPTION
        Re-encrypts the server's key with a new passphrase (at least 16 characters). The backed-up data
        is not rewritten, so the change is quick. Afterwards the old passphrase no longer opens the
        server's backups: keep the new one in a safe place away from the server (the cmdlet warns so).
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one).
    .PARAMETER Server
        Server whose passphrase to change: its ID, an ID prefix of at least 8 characters, or its host
        name. Default: this server.
    .PARAMETER Passphrase
        The current passphrase. If omitted, -PassphraseFile, else $env:AZBACKUP_PASSPHRASE when set.
    .PARAMETER PassphraseFile
        A file holding the current passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It
        must be readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is
        ignored. The engine reads it: the passphrase never passes through PowerShell. (Before this
        version, -PassphraseFile named the file for a generated passphrase: that is -PassphraseOutFile now.)
    .PARAMETER NewPassphrase
        The new passphrase: at least 16 characters.
    .PARAMETER NewPassphraseFile
        A file holding the new passphrase (owner-only, like -PassphraseFile), instead of -NewPassphrase.
    .PARAMETER GeneratePassphrase
        Generate a strong random new passphrase (150 bits) instead of giving one, and save it in
        -PassphraseOutFile before it is used: if the file cannot be written, nothing changes.
    .PARAMETER PassphraseOutFile
        With -GeneratePassphrase: a new file that receives the generated passphrase, created readable by
        its owner only; an existing file is never overwritten. Move it somewhere safe, away from the server.
    .PARAMETER UpdateStoredPassphrase
        Also replace the passphrase stored for unattended policy runs (Set-AzBackupPolicy
        -StorePassphrase). Without it, a stored copy is left as it was and a warning
        (AZB_STORED_PASSPHRASE_STALE) says that scheduled runs will fail until it is updated.
    .EXAMPLE
        $old = Read-Host -AsSecureString -Prompt 'Current passphrase'
        $new = Read-Host -AsSecureString -Prompt 'New passphrase (16+ characters)'
        Set-AzBackupPassphrase -Passphrase $old -NewPassphrase $new

        Changes this server's passphrase, after confirmation.
    .EXAMPLE
        Set-AzBackupPassphrase -Vault /mnt/backup/vault -Server srv02 -Passphrase $old -NewPassphrase $new -Confirm:$false

        Changes the passphrase of server srv02 without asking.
    .EXAMPLE
        Set-AzBackupPassphrase -PassphraseFile /root/azbackup-passphrase.txt -GeneratePassphrase -PassphraseOutFile /root/azbackup-passphrase-2027.txt -UpdateStoredPassphrase

        Replaces the passphrase (the current one read from a file) with a generated one saved in a new
        file, and updates the copy stored for scheduled runs.
    .OUTPUTS
        AzBackup.PassphraseChange
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Given')]
    [OutputType('AzBackup.PassphraseChange')]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [Parameter(Mandatory, ParameterSetName = 'Given')]
        [securestring]$NewPassphrase,

        [Parameter(Mandatory, ParameterSetName = 'GivenFile')]
        [ValidateNotNullOrEmpty()]
        [string]$NewPassphraseFile,

        [Parameter(Mandatory, ParameterSetName = 'Generate')]
        [switch]$GeneratePassphrase,

        [Parameter(Mandatory, ParameterSetName = 'Generate')]
        [ValidateNotNullOrEmpty()]
        [string]$PassphraseOutFile,

        [switch]$UpdateStoredPassphrase
    )
    $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
    $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
    $secretFiles = @{ passphrase = $PassphraseFile; newPassphrase = $NewPassphraseFile }
    if ($PSCmdlet.ParameterSetName -eq 'Generate') {
        $arguments.generatePassphrase = $true
        $arguments.passphraseFile = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($PassphraseOutFile)
    } elseif ($NewPassphrase) {
        $secrets.newPassphrase = $NewPassphrase
    }
    if ($UpdateStoredPassphrase) { $arguments.updateStored = $true }
    $who = if ($Server) { "server $Server" } else { 'this server' }
    $where = if ($arguments.vault) { " in $($arguments.vault)" } else { '' }
    if ($PSCmdlet.ShouldProcess("$who$where", 'Change the passphrase (the old one will no longer open the backups)')) {
        Invoke-AzBackupEngine -Command 'passphrase.set' -Arguments $arguments -Secrets $secrets -SecretFiles $secretFiles -Caller $PSCmdlet -Output Result
    }
}
