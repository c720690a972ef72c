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
        The current passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER NewPassphrase
        The new passphrase: at least 16 characters.
    .PARAMETER GeneratePassphrase
        Generate a strong random new passphrase (150 bits) instead of giving one, and save it in
        -PassphraseFile before it is used: if the file cannot be written, nothing changes.
    .PARAMETER PassphraseFile
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
        Set-AzBackupPassphrase -GeneratePassphrase -PassphraseFile /root/azbackup-passphrase-2027.txt -UpdateStoredPassphrase

        Replaces the passphrase with a generated one saved in a new file, and updates the copy stored for
        scheduled runs.
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

        [Parameter(Mandatory, ParameterSetName = 'Given')]
        [securestring]$NewPassphrase,

        [Parameter(Mandatory, ParameterSetName = 'Generate')]
        [switch]$GeneratePassphrase,

        [Parameter(Mandatory, ParameterSetName = 'Generate')]
        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile,

        [switch]$UpdateStoredPassphrase
    )
    $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
    $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase) }
    if ($PSCmdlet.ParameterSetName -eq 'Generate') {
        $arguments.generatePassphrase = $true
        $arguments.passphraseFile = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($PassphraseFile)
    } else {
        $secrets.newPassphrase = $NewPassphrase
    }
    if ($UpdateStoredPassphrase) { $arguments.updateStored = $true }
    $who = if ($Server) { "server $Server" } else { 'this server' }
    $where = if ($arguments.vault) { " in $($arguments.vault)" } else { '' }
    if ($PSCmdlet.ShouldProcess("$who$where", 'Change the passphrase (the old one will no longer open the backups)')) {
        Invoke-AzBackupEngine -Command 'passphrase.set' -Arguments $arguments -Secrets $secrets -Caller $PSCmdlet -Output Result
    }
}
