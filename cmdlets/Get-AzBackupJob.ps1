function Get-AzBackupJob {
    <#
    .SYNOPSIS
        Shows the backup, restore, check and prune jobs of this machine, newest first.
    .DESCRIPTION
        Every backup, restore, check, prune and point removal runs as a job recorded on this machine (in
        the AzBackup home): its operation, status, start and end time, statistics, errors, and its
        warnings (Warnings counts them; WarningList keeps the first 100, such as the files a backup
        skipped). A backup that skipped anything (sockets, FIFOs, devices, files it could not read)
        lists every skipped path with a code and the reason in a text file beside the job history,
        whose path is SkippedFilesPath (about_AzBackup, SKIPPED FILES). Status is InProgress,
        Completed, CompletedWithWarnings, Failed or Cancelled. A job whose engine process ended without
        finishing it is reported as Failed (AZB_JOB_ABANDONED).
    .PARAMETER Previous
        Only the given number of most recent jobs (after -Status filtering).
    .PARAMETER Status
        Only jobs with this status: InProgress, Completed, CompletedWithWarnings, Failed or Cancelled.
    .PARAMETER JobId
        Only the job with this ID. Binds by property name.
    .EXAMPLE
        Get-AzBackupJob -Previous 5

        The five most recent jobs.
    .EXAMPLE
        Get-AzBackupJob -Status Failed | Select-Object JobId, Operation, StartTime, Errors

        Lists failed jobs with their errors.
    .EXAMPLE
        (Get-AzBackupJob -Status CompletedWithWarnings -Previous 1).WarningList | Format-Table Code, Target

        What the last backup with warnings skipped, and why.
    .EXAMPLE
        Get-Content (Get-AzBackupJob -Previous 1).SkippedFilesPath

        Every path the last job skipped: CODE<TAB>PATH<TAB>REASON a line (newlines and bytes that are
        not UTF-8 in names are escaped as \n and \xHH).
    .EXAMPLE
        Get-AzBackupJob -Status InProgress | Stop-AzBackupJob

        Stops every running job.
    .OUTPUTS
        AzBackup.Job
    #>
    [CmdletBinding()]
    [OutputType('AzBackup.Job')]
    param(
        [ValidateRange(1, [int]::MaxValue)]
        [int]$Previous,

        [ValidateSet('InProgress', 'Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled')]
        [string]$Status,

        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$JobId
    )
    process {
        $arguments = @{}
        if ($PSBoundParameters.ContainsKey('Previous')) { $arguments.previous = $Previous }
        if ($Status) { $arguments.status = $Status }
        if ($JobId) { $arguments.jobId = $JobId }
        Invoke-AzBackupEngine -Command 'jobs' -Arguments $arguments -Caller $PSCmdlet -Output Items
    }
}
