function Test-AzBackupVault {
    <#
    .SYNOPSIS
        Checks a server's backups in the vault; with -ReadData, reads and verifies every byte.
    .DESCRIPTION
        Checks the structure of a server's namespace: its certificate and registration, the index, the
        packs, every recovery point (its signature) and every folder listing it refers to. With -ReadData
        (or -ReadDataPercent) it also downloads the packs (all, or a random share of them) and decrypts and
        authenticates every chunk in them, which finds silent damage on the storage.

        Each damaged object is returned as an AzBackup.CheckProblem (what is damaged, why, and which
        recovery points and files it affects), followed by one AzBackup.CheckResult summary. Problems
        found are results, not errors: use the Problems count of the summary in scripts.
    .PARAMETER Vault
        Vault location. Default: the vault this server is registered with (when it is registered with
        exactly one). Binds by property name
        (an AzBackup.Server or AzBackup.RecoveryPoint from the pipeline).
    .PARAMETER Server
        Server whose backups to check: its ID, an ID prefix of at least 8 characters, or its host name.
        Default: this server. Binds by property name (ServerId).
    .PARAMETER ReadData
        Also read and verify all of the data (every pack).
    .PARAMETER ReadDataPercent
        Also read and verify this percentage (1-100) of the packs, chosen at random; a cheaper regular
        check. Overrides -ReadData.
    .PARAMETER Passphrase
        The server's passphrase. If omitted, $env:AZBACKUP_PASSPHRASE is used when set.
    .PARAMETER PassphraseFile
        A file holding the passphrase, instead of -Passphrase (not both: AZB_SECRET_SOURCE). It must be
        readable by its owner only (else AZB_SECRET_FILE_UNPROTECTED); one trailing newline is ignored.
        The engine reads it: the passphrase never passes through PowerShell.
    .EXAMPLE
        Test-AzBackupVault

        Checks the structure of this server's backups and shows the summary.
    .EXAMPLE
        $problems = Test-AzBackupVault -ReadData | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.CheckProblem' }
        $problems | Select-Object Object, Problem, AffectedFiles

        Reads every byte and lists what is damaged and which files it affects.
    .EXAMPLE
        if ((Test-AzBackupVault -ReadDataPercent 10 | Select-Object -Last 1).Problems -gt 0) { Send-Alert 'Backup damaged' }

        A weekly check of a tenth of the data, as a guard in a scheduled script.
    .OUTPUTS
        AzBackup.CheckProblem, AzBackup.CheckResult
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.CheckProblem', 'AzBackup.CheckResult')]
    param(
        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('ServerId')]
        [ValidateNotNullOrEmpty()]
        [string]$Server,

        [switch]$ReadData,

        [ValidateRange(1, 100)]
        [int]$ReadDataPercent,

        [securestring]$Passphrase,

        [ValidateNotNullOrEmpty()]
        [string]$PassphraseFile
    )
    process {
        $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault -Server $Server
        $arguments.readDataPercent = if ($PSBoundParameters.ContainsKey('ReadDataPercent')) { $ReadDataPercent } elseif ($ReadData) { 100 } else { 0 }
        $secrets = @{ passphrase = (Resolve-AzBackupPassphrase -Passphrase $Passphrase -PassphraseFile $PassphraseFile) }
        Invoke-AzBackupEngine -Command 'check' -Arguments $arguments -Secrets $secrets -SecretFiles @{ passphrase = $PassphraseFile } -Caller $PSCmdlet -Output All
    }
}
