function Stop-AzBackupJob {
    <#
    .SYNOPSIS
        Stops a running backup, restore, check or prune job cleanly.
    .DESCRIPTION
        Asks the engine process that runs the job to stop at the next safe point, and waits (up to 30
        seconds) for the job to end. A stopped backup writes no recovery point; the data it already
        uploaded is reused by the next backup. The job then shows as Cancelled in Get-AzBackupJob.
        Stopping a job that is no longer running changes nothing. Accepts the output of Get-AzBackupJob.
    .PARAMETER JobId
        ID of the job. Binds by property name from Get-AzBackupJob.
    .PARAMETER PassThru
        Return the job (AzBackup.Job) as it is after the stop request.
    .EXAMPLE
        Get-AzBackupJob -Status InProgress | Stop-AzBackupJob

        Stops every running job of this machine.
    .EXAMPLE
        Stop-AzBackupJob -JobId 20250101T020000-1a2b3c4d -PassThru

        Stops one job and shows its final status.
    .OUTPUTS
        None, or AzBackup.Job with -PassThru
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('AzBackup.Job')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string]$JobId,

        [switch]$PassThru
    )
    process {
        if ($PSCmdlet.ShouldProcess("job $JobId", 'Stop')) {
            $job = Invoke-AzBackupEngine -Command 'job.stop' -Arguments @{ jobId = $JobId } -Caller $PSCmdlet -Output Result
            if ($PassThru) { $job }
        }
    }
}
