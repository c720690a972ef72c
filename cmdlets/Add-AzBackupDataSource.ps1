function Add-AzBackupDataSource {
    <#
    .SYNOPSIS
        Adds a data source of a member to a protection group: a folder (tar over SSH) or a command's output.
    .DESCRIPTION
        A data source is one path of a member, whose files the group's runs fetch with tar over SSH and
        store file by file (name <member>:<path>), or one command run on the member over SSH whose output
        is stored as one file named -StreamName (name <member>:<stream name>), e.g. pg_dump, mysqldump or
        sqlcmd. Each data source is its own series of recovery points.

        A data source is in one group only: AZB_DATASOURCE_IN_OTHER_GROUP names the group that has it.
        Other errors: AZB_GROUP_NOT_FOUND, AZB_MEMBER_NOT_FOUND (add the member first with
        Add-AzBackupMember), AZB_GROUP_INVALID (a path that is not absolute, a stream name with '/', the
        data source already in this group). Nothing is contacted: the next run is the test.
    .PARAMETER ProtectionGroup
        The group, by name, or from the pipeline (Get-AzBackupProtectionGroup, New-AzBackupProtectionGroup).
    .PARAMETER ComputerName
        The member's name in AzBackup (Get-AzBackupMember), not its host name.
    .PARAMETER Path
        An absolute path on the member (a folder or a file) whose files are backed up.
    .PARAMETER Command
        A command run on the member whose standard output is backed up. Its exit code must be 0, or no
        point is written.
    .PARAMETER ArgumentList
        The command's arguments; each reaches it as one word (quoted for the member's POSIX shell).
        Passwords do not belong here: use the tool's own files on the member (~/.pgpass and the like).
    .PARAMETER StreamName
        The file name the command's output is stored under (no '/'), e.g. shop.sql.
    .EXAMPLE
        Add-AzBackupDataSource -ProtectionGroup web -ComputerName web01 -Path /srv/www

        Protects /srv/www of member web01 in the group web (data source web01:/srv/www).
    .EXAMPLE
        Get-AzBackupProtectionGroup sql | Add-AzBackupDataSource -ComputerName db01 -Command pg_dump -ArgumentList '--format=custom', 'shop' -StreamName shop.dump

        Protects a pg_dump of the database shop on member db01 (data source db01:shop.dump).
    .OUTPUTS
        AzBackup.DataSource
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Path')]
    [OutputType('AzBackup.DataSource')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$ProtectionGroup,

        [Parameter(Mandatory, Position = 1)]
        [Alias('Member')]
        [ValidateNotNullOrEmpty()]
        [string]$ComputerName,

        [Parameter(Mandatory, ParameterSetName = 'Path')]
        [ValidateNotNullOrEmpty()]
        [string]$Path,

        [Parameter(Mandatory, ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$Command,

        [Parameter(ParameterSetName = 'Command')]
        [string[]]$ArgumentList,

        [Parameter(Mandatory, ParameterSetName = 'Command')]
        [ValidateNotNullOrEmpty()]
        [string]$StreamName
    )
    process {
        # The path is the member's: it is not resolved against this server's location.
        $arguments = @{ group = $ProtectionGroup; member = $ComputerName }
        if ($PSCmdlet.ParameterSetName -eq 'Path') {
            $arguments.path = $Path
            $what = "files of ${ComputerName}:$Path"
        } else {
            $arguments.command = $Command
            if ($PSBoundParameters.ContainsKey('ArgumentList')) { $arguments.arguments = @($ArgumentList) }
            $arguments.streamName = $StreamName
            $what = "output of '$Command' on $ComputerName as $StreamName"
        }
        if ($PSCmdlet.ShouldProcess("protection group $ProtectionGroup", "Add the data source: the $what")) {
            Invoke-AzBackupEngine -Command 'group.add-source' -Arguments $arguments -Caller $PSCmdlet -Output Result
        }
    }
}
