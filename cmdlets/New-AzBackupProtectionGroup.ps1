function New-AzBackupProtectionGroup {
    <#
    .SYNOPSIS
        Makes a protection group: data sources of members backed up together to this server's disk vault.
    .DESCRIPTION
        A protection group (as in System Center DPM) backs up data sources of members (Add-AzBackupMember)
        to a folder vault this server is registered with, its "disk": each data source is its own series
        of short-term recovery points, kept by the group's retention range (default 5 days; every day at
        20:00 until Set-AzBackupProtectionGroup gives a frequency or a schedule). Online protection
        (Enable-AzBackupOnlineProtection) then copies them to an Azure vault.

        The group is stored in the AzBackup home (groups/<name>.json); no schedule is installed until
        Set-AzBackupProtectionGroup. Errors: AZB_GROUP_EXISTS, AZB_GROUP_INVALID (a name that is not
        usable), AZB_GROUP_VAULT_NOT_DISK (an Azure vault), AZB_VAULT_REQUIRED (no -Vault and this server
        is registered with several vaults or none), AZB_NOT_REGISTERED (this server is not registered with
        that vault).
    .PARAMETER Name
        The group's name: letters, digits, dots, dashes and underscores, as policy names.
    .PARAMETER Vault
        The folder vault for the short-term points. Default: the vault this server is registered with,
        when it is registered with exactly one.
    .EXAMPLE
        New-AzBackupProtectionGroup -Name web -Vault /mnt/backup/vault

        Makes the group web, whose points go to the folder vault /mnt/backup/vault.
    .EXAMPLE
        New-AzBackupProtectionGroup -Name sql | Add-AzBackupDataSource -ComputerName db01 -Command pg_dump -ArgumentList shop -StreamName shop.sql

        Makes the group sql on this server's only vault and adds a database dump of member db01 to it.
    .OUTPUTS
        AzBackup.ProtectionGroup
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.ProtectionGroup')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty()]
        [string]$Vault
    )
    $arguments = New-AzBackupVaultArgument -Caller $PSCmdlet -Vault $Vault
    $arguments.name = $Name
    $where = if ($arguments.vault) { $arguments.vault } else { "this server's vault" }
    if ($PSCmdlet.ShouldProcess("protection group $Name", "Make the protection group, with its short-term points in $where")) {
        Invoke-AzBackupEngine -Command 'group.new' -Arguments $arguments -Caller $PSCmdlet -Output Result
    }
}
